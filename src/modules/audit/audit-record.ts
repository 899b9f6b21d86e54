import { AuditAction, type Secret, type SecretScope } from '../../entities';

/** Flatfile's event topics for secrets. */
export type SecretTopic = 'secret:created' | 'secret:updated' | 'secret:deleted';

/** Who acted: a token, or (null) the CLI and start-up tasks. */
export interface Actor {
  readonly tokenId: string | null;
}

/** One audit record as services hand it over; never a value, a key or a token. */
export interface AuditRecord {
  readonly action: AuditAction;
  readonly tokenId: string | null;
  readonly environmentId?: string | null;
  readonly spaceId?: string | null;
  readonly actorId?: string | null;
  readonly secretId?: string | null;
  readonly secretName?: string | null;
  readonly secretVersion?: number | null;
  readonly source?: SecretScope | null;
  readonly subjectTokenId?: string | null;
  readonly webhookId?: string | null;
  /** Secret changes: the spaces whose effective value of the name changed (DESIGN §12). */
  readonly affectedSpaceIds?: readonly string[] | null;
  /** Secret changes: Flatfile's topic, as the writer saw the change. */
  readonly topic?: SecretTopic | null;
  /** AUDIT_PRUNED: the range dropped. */
  readonly firstAt?: Date | null;
  readonly lastAt?: Date | null;
}

export function secretRecord(action: AuditAction, actor: Actor, secret: Secret): AuditRecord {
  return {
    action,
    tokenId: actor.tokenId,
    environmentId: secret.environmentId,
    spaceId: secret.spaceId,
    actorId: secret.actorId ?? null,
    secretId: secret.id,
    secretName: secret.name,
    secretVersion: secret.version,
    source: secret.scope,
  };
}

export const isRead = (record: AuditRecord): boolean => record.action === AuditAction.SECRET_READ;
