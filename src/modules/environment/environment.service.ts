import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import type { EnvironmentKeyring } from '../../crypto/keyring';
import { AuditAction, Environment, EnvironmentKey } from '../../entities';
import { NotFoundError } from '../../errors';
import { Capability, type AccessPolicy } from '../access/access-policy';
import type { AuditService } from '../audit/audit.service';
import { check, entityNameSchema, idSchema } from '../validation';

const FIRST_KEY_VERSION = 1;

export class EnvironmentService {
  constructor(
    private readonly db: DataSource,
    private readonly keyring: Pick<EnvironmentKeyring, 'create' | 'remember'>,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {}

  /** Creates the environment with its first key. The provider call happens before any row is written. */
  async create(caller: AccessPolicy, input: { name: unknown }): Promise<Environment> {
    caller.assert(Capability.MANAGE);
    const name = check(entityNameSchema, 'name', input.name);
    const id = randomUUID();
    const { key, wrapped } = await this.keyring.create(id, FIRST_KEY_VERSION);
    try {
      const environment = await this.db.transaction(async (em) => {
        const now = new Date();
        const created = em.getRepository(Environment).create({ id, name, currentKeyVersion: FIRST_KEY_VERSION, createdAt: now, updatedAt: now });
        await em.getRepository(Environment).insert(created);
        await em.getRepository(EnvironmentKey).insert({
          environmentId: id,
          version: FIRST_KEY_VERSION,
          wrappedKey: wrapped.blob,
          providerId: wrapped.providerId,
          keyRef: wrapped.keyRef,
          createdAt: now,
          updatedAt: now,
        });
        await this.audit.append([{ action: AuditAction.ENVIRONMENT_CREATED, tokenId: caller.principal.tokenId, environmentId: id }], em);
        return created;
      });
      this.keyring.remember(id, FIRST_KEY_VERSION, key);
      return environment;
    } catch (error) {
      key.fill(0);
      throw error; // a taken name is NAME_CONFLICT (db/pg-errors.ts)
    }
  }

  /** Deletes the environment; its spaces, secrets and keys go with it (database cascade). */
  async delete(caller: AccessPolicy, id: unknown): Promise<Environment> {
    caller.assert(Capability.MANAGE);
    const environmentId = check(idSchema, 'id', id);
    const environment = await this.db.transaction(async (em) => {
      const found = await em.getRepository(Environment).findOneBy({ id: environmentId });
      if (!found) return null;
      await em.getRepository(Environment).delete({ id: environmentId });
      await this.audit.append([{ action: AuditAction.ENVIRONMENT_DELETED, tokenId: caller.principal.tokenId, environmentId }], em);
      return found;
    });
    if (!environment) throw new NotFoundError('environment');
    return environment;
  }
}
