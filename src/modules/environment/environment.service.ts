import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import type { EnvironmentKeyring } from '../../crypto/keyring';
import { constraintViolation } from '../../db/pg-errors';
import { AuditAction, Environment, EnvironmentKey } from '../../entities';
import { NameConflictError, NotFoundError } from '../../errors';
import type { Actor, AuditService } from '../audit/audit.service';
import { compareNames } from '../secret/resolution';
import { check, entityNameSchema, idSchema } from '../validation';

const FIRST_KEY_VERSION = 1;

export class EnvironmentService {
  constructor(
    private readonly db: DataSource,
    private readonly keyring: Pick<EnvironmentKeyring, 'create' | 'remember'>,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {}

  async list(): Promise<Environment[]> {
    const environments = await this.db.getRepository(Environment).find();
    return environments.sort((a, b) => compareNames(a.name, b.name));
  }

  async get(id: string): Promise<Environment | null> {
    return this.db.getRepository(Environment).findOneBy({ id: check(idSchema, 'id', id) });
  }

  /** Creates the environment with its first key. The provider call happens before any row is written. */
  async create(input: { name: unknown }, actor: Actor): Promise<Environment> {
    const name = check(entityNameSchema, 'name', input.name);
    const id = randomUUID();
    const { key, wrapped } = await this.keyring.create(id, FIRST_KEY_VERSION);
    try {
      const environment = await this.db.transaction(async (em) => {
        const created = em.getRepository(Environment).create({
          id,
          name,
          currentKeyVersion: FIRST_KEY_VERSION,
          createdAt: new Date(),
          updatedAt: new Date(),
        });
        await em.getRepository(Environment).insert(created);
        await em.getRepository(EnvironmentKey).insert({
          environmentId: id,
          version: FIRST_KEY_VERSION,
          wrappedKey: wrapped.blob,
          providerId: wrapped.providerId,
          keyRef: wrapped.keyRef,
          createdAt: created.createdAt,
          updatedAt: created.createdAt,
        });
        await this.audit.append([{ action: AuditAction.ENVIRONMENT_CREATED, tokenId: actor.tokenId, environmentId: id }], em);
        return created;
      });
      this.keyring.remember(id, FIRST_KEY_VERSION, key);
      return environment;
    } catch (error) {
      key.fill(0);
      if (constraintViolation(error)?.constraint === 'environment_name_key') {
        throw new NameConflictError('environment');
      }
      throw error;
    }
  }

  /** Deletes the environment; its spaces, secrets and keys go with it (database cascade). */
  async delete(id: string, actor: Actor): Promise<Environment> {
    const environmentId = check(idSchema, 'id', id);
    const environment = await this.db.transaction(async (em) => {
      const found = await em.getRepository(Environment).findOneBy({ id: environmentId });
      if (!found) return null;
      await em.getRepository(Environment).delete({ id: environmentId });
      await this.audit.append([{ action: AuditAction.ENVIRONMENT_DELETED, tokenId: actor.tokenId, environmentId }], em);
      return found;
    });
    if (!environment) throw new NotFoundError('environment');
    return environment;
  }
}
