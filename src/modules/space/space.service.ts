import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { AuditAction, Space } from '../../entities';
import { NotFoundError } from '../../errors';
import { Capability, type AccessPolicy } from '../access/access-policy';
import type { AuditService } from '../audit/audit.service';
import { check, entityNameSchema, idSchema } from '../validation';

export class SpaceService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {}

  /** A taken name is NAME_CONFLICT and an unknown environment NOT_FOUND (db/pg-errors.ts). */
  async create(caller: AccessPolicy, input: { environmentId: unknown; name: unknown }): Promise<Space> {
    caller.assert(Capability.MANAGE);
    const environmentId = check(idSchema, 'environmentId', input.environmentId);
    const name = check(entityNameSchema, 'name', input.name);
    const now = new Date();
    const space = this.db.getRepository(Space).create({ id: randomUUID(), environmentId, name, createdAt: now, updatedAt: now });
    await this.db.transaction(async (em) => {
      await em.getRepository(Space).insert(space);
      await this.audit.append(
        [{ action: AuditAction.SPACE_CREATED, tokenId: caller.principal.tokenId, environmentId, spaceId: space.id }],
        em,
      );
    });
    return space;
  }

  /** Deletes the space and its overrides (database cascade). */
  async delete(caller: AccessPolicy, id: unknown): Promise<Space> {
    caller.assert(Capability.MANAGE);
    const spaceId = check(idSchema, 'id', id);
    const space = await this.db.transaction(async (em) => {
      const found = await em.getRepository(Space).findOneBy({ id: spaceId });
      if (!found) return null;
      await em.getRepository(Space).delete({ id: spaceId });
      await this.audit.append(
        [{ action: AuditAction.SPACE_DELETED, tokenId: caller.principal.tokenId, environmentId: found.environmentId, spaceId }],
        em,
      );
      return found;
    });
    if (!space) throw new NotFoundError('space');
    return space;
  }
}
