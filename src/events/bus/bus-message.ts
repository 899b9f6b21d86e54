import { AuditAction } from '../../entities';

/*
 * What travels on the bus: a wake-up (new change rows are in the log) and
 * cache invalidations — ids only, never a value, a key or a token. The log
 * is the truth; a message only says "look now" or "forget this".
 */
export interface BusMessage {
  /** Change rows were committed: read the feed. */
  readonly changes?: boolean;
  /** Token ids revoked (their sessions are listed too: each has its own TOKEN_REVOKED record). */
  readonly revokedTokens?: readonly string[];
  readonly deletedEnvironments?: readonly string[];
  readonly deletedSpaces?: readonly string[];
  /** Environments whose key was rotated or re-wrapped. */
  readonly rotatedKeys?: readonly string[];
}

/** The fields of an audit record (or feed row) that say what it invalidates. */
export interface InvalidatingRecord {
  readonly action: string;
  readonly environmentId?: string | null;
  readonly spaceId?: string | null;
  readonly subjectTokenId?: string | null;
}

/** What a set of committed audit records invalidates; the same for the publisher and for the feed. */
export function invalidationsOf(records: readonly InvalidatingRecord[]): BusMessage {
  const revokedTokens: string[] = [];
  const deletedEnvironments: string[] = [];
  const deletedSpaces: string[] = [];
  const rotatedKeys: string[] = [];
  for (const r of records) {
    if (r.action === AuditAction.TOKEN_REVOKED && r.subjectTokenId) revokedTokens.push(r.subjectTokenId);
    else if (r.action === AuditAction.ENVIRONMENT_DELETED && r.environmentId) deletedEnvironments.push(r.environmentId);
    else if (r.action === AuditAction.SPACE_DELETED && r.spaceId) deletedSpaces.push(r.spaceId);
    else if (r.action === AuditAction.KEY_REWRAPPED && r.environmentId) rotatedKeys.push(r.environmentId);
  }
  return compact({ revokedTokens, deletedEnvironments, deletedSpaces, rotatedKeys });
}

export const isInvalidation = (m: BusMessage): boolean =>
  Boolean(m.revokedTokens?.length || m.deletedEnvironments?.length || m.deletedSpaces?.length || m.rotatedKeys?.length);

const LISTS = ['revokedTokens', 'deletedEnvironments', 'deletedSpaces', 'rotatedKeys'] as const;

export function mergeMessages(a: BusMessage, b: BusMessage): BusMessage {
  const merged: Record<string, unknown> = { changes: Boolean(a.changes || b.changes) };
  for (const list of LISTS) merged[list] = [...new Set([...(a[list] ?? []), ...(b[list] ?? [])])];
  return compact(merged as BusMessage);
}

function compact(message: BusMessage): BusMessage {
  const out: Record<string, unknown> = {};
  if (message.changes) out.changes = true;
  for (const list of LISTS) if (message[list]?.length) out[list] = message[list];
  return out as BusMessage;
}

/* NOTIFY payloads must stay under 8000 bytes; ids are 36 characters. */
const MAX_PAYLOAD = 7000;
const KEYS: Record<(typeof LISTS)[number], string> = { revokedTokens: 't', deletedEnvironments: 'e', deletedSpaces: 's', rotatedKeys: 'k' };

/** One or more payloads (a long list is split), each a small JSON object of ids. */
export function encodeBusMessage(message: BusMessage): string[] {
  const payloads: string[] = [];
  let current: Record<string, unknown> = message.changes ? { c: 1 } : {};
  let size = JSON.stringify(current).length;
  for (const list of LISTS) {
    for (const id of message[list] ?? []) {
      if (size + id.length + 8 > MAX_PAYLOAD) {
        payloads.push(JSON.stringify(current));
        current = {};
        size = 2;
      }
      ((current[KEYS[list]] ??= []) as string[]).push(id);
      size += id.length + 8;
    }
  }
  payloads.push(JSON.stringify(current));
  return payloads;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A payload back into a message; anything unexpected (another writer on the channel) is ignored. */
export function decodeBusMessage(payload: string): BusMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object') return {};
  const raw = parsed as Record<string, unknown>;
  const ids = (key: string) => (Array.isArray(raw[key]) ? (raw[key] as unknown[]).filter((v): v is string => typeof v === 'string' && UUID.test(v)) : []);
  return compact({
    changes: raw.c === 1,
    revokedTokens: ids(KEYS.revokedTokens),
    deletedEnvironments: ids(KEYS.deletedEnvironments),
    deletedSpaces: ids(KEYS.deletedSpaces),
    rotatedKeys: ids(KEYS.rotatedKeys),
  });
}
