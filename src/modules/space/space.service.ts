import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { constraintViolation } from '../../db/pg-errors';
import { AuditAction, Space } from '../../entities';
import { NameConflictError, NotFoundError } from '../../errors';
import type { Actor, AuditService } from '../audit/audit.service';
import { check, entityNameSchema, idSchema } from '../validation';

export class SpaceService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {}

  async get(id: string): Promise<Space | null> {
    return this.db.getRepository(Space).findOneBy({ id: check(idSchema, 'id', id) });
  }

  async create(input: { environmentId: unknown; name: unknown }, actor: Actor): Promise<Space> {
    const environmentId = check(idSchema, 'environmentId', input.environmentId);
    const name = check(entityNameSchema, 'name', input.name);
    const now = new Date();
    const space = this.db.getRepository(Space).create({ id: randomUUID(), environmentId, name, createdAt: now, updatedAt: now });
    try {
      await this.db.transaction(async (em) => {
        await em.getRepository(Space).insert(space);
        await this.audit.append(
          [{ action: AuditAction.SPACE_CREATED, tokenId: actor.tokenId, environmentId, spaceId: space.id }],
          em,
        );
      });
      return space;
    } catch (error) {
      const violation = constraintViolation(error);
      if (violation?.constraint === 'space_environment_name_key') throw new NameConflictError('space');
      if (violation?.constraint === 'space_environment_id_fkey') throw new NotFoundError('environment', 'environmentId');
      throw error;
    }
  }

  /** Deletes the space and its overrides (database cascade). */
  async delete(id: string, actor: Actor): Promise<Space> {
    const spaceId = check(idSchema, 'id', id);
    const space = await this.db.transaction(async (em) => {
      const found = await em.getRepository(Space).findOneBy({ id: spaceId });
      if (!found) return null;
      await em.getRepository(Space).delete({ id: spaceId });
      await this.audit.append(
        [{ action: AuditAction.SPACE_DELETED, tokenId: actor.tokenId, environmentId: found.environmentId, spaceId }],
        em,
      );
      return found;
    });
    if (!space) throw new NotFoundError('space');
    return space;
  }
}
