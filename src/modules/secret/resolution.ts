import { SecretScope, type Secret } from '../../entities';

/** A name as a view (a space or an environment, for an actor or not) sees it, with where its value comes from. */
export interface ResolvedSecret {
  readonly name: string;
  readonly source: SecretScope;
  /** The row that supplies the value. */
  readonly secret: Secret;
  /** The row that would supply the value if this one did not exist (the next candidate). */
  readonly overrides: Secret | null;
  /** What the supplying row shadowed when it was written has changed since (DESIGN §11; see `resolved`). */
  readonly overrideStale: boolean;
  /** Set when a personal value supplies it. */
  readonly actorId: string | null;
}

/** Code-point order, independent of any database collation. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/*
 * DESIGN §2 and §10, the one place of these rules. For a view (E, S, A) the
 * candidates of a name rank: (S, A) personal in the space, (E, A) personal
 * in the environment, (S) shared in the space, (E) shared in the
 * environment; first present wins, and the next one is what it overrides.
 * A personal value is set deliberately for one actor, so it wins over what
 * is shared; within each kind the space is the more specific. Without an
 * actor only shared rows take part; another actor's rows never do.
 */
const NOT_A_CANDIDATE = -1;

/** The rank of a row in a view for `actorId` (0 wins), or NOT_A_CANDIDATE. */
export function rankOf(secret: Pick<Secret, 'spaceId' | 'actorId'>, actorId: string | null): number {
  const inSpace = (secret.spaceId ?? null) !== null;
  const owner = secret.actorId ?? null;
  if (owner === null) return inSpace ? 2 : 3;
  if (actorId !== null && owner === actorId) return inSpace ? 0 : 1;
  return NOT_A_CANDIDATE;
}

/** The rows of one name in precedence order, for `actorId` (others' personal rows dropped). */
function ranked(candidates: readonly Secret[], actorId: string | null): Secret[] {
  return candidates
    .map((secret) => ({ secret, rank: rankOf(secret, actorId) }))
    .filter((c) => c.rank !== NOT_A_CANDIDATE)
    .sort((a, b) => a.rank - b.rank)
    .map((c) => c.secret);
}

const sameRow = (a: { id: string; version: number } | null, id: string | null, version: number | null) =>
  a === null ? id === null : a.id === id && a.version === version;

/**
 * The winner of ranked candidates, what it overrides in this view, and
 * whether that is stale. A write records what the row shadowed in its own
 * placement, so staleness compares against the next candidate there: an
 * environment-level winner seen from a space is stale when the environment
 * value below it changed, not because the space has a row of its own.
 */
function resolved([winner, ...below]: Secret[]): ResolvedSecret {
  const inOwnPlacement = winner.spaceId === null ? below.filter((c) => c.spaceId === null) : below;
  return {
    name: winner.name,
    source: winner.spaceId === null ? SecretScope.ENVIRONMENT : SecretScope.SPACE,
    secret: winner,
    overrides: below[0] ?? null,
    overrideStale: !sameRow(inOwnPlacement[0] ?? null, winner.shadowedId ?? null, winner.shadowedVersion ?? null),
    actorId: winner.actorId ?? null,
  };
}

/** One name among `candidates` (rows of that name in the view's environment and space); undefined when none applies. */
export function resolveSecret(name: string, candidates: readonly Secret[], actorId: string | null = null): ResolvedSecret | undefined {
  const order = ranked(
    candidates.filter((s) => s.name === name),
    actorId,
  );
  return order.length ? resolved(order) : undefined;
}

/**
 * Every name of a view: the environment's rows, each replaced by the
 * space's where it has one, personal rows of `actorId` first. With no space
 * rows this is the environment's own view. Sorted by name.
 */
export function resolveEffectiveSecrets(
  environmentSecrets: readonly Secret[],
  spaceSecrets: readonly Secret[] = [],
  actorId: string | null = null,
): ResolvedSecret[] {
  const byName = new Map<string, Secret[]>();
  for (const secret of [...spaceSecrets, ...environmentSecrets]) {
    const group = byName.get(secret.name);
    if (group) group.push(secret);
    else byName.set(secret.name, [secret]);
  }
  const out: ResolvedSecret[] = [];
  for (const group of byName.values()) {
    const order = ranked(group, actorId);
    if (order.length) out.push(resolved(order));
  }
  return out.sort((a, b) => compareNames(a.name, b.name));
}

/**
 * What a row about to be written at `rank` for its actor shadows in its own
 * placement: the best candidate ranked below it, or null. Recorded with the
 * write, so a read can tell when that has changed (overrideStale).
 */
export function shadowedBy(written: Pick<Secret, 'spaceId' | 'actorId'>, candidates: readonly Secret[]): Secret | null {
  const rank = rankOf(written, written.actorId);
  return ranked(candidates, written.actorId).find((c) => rankOf(c, written.actorId) > rank) ?? null;
}
