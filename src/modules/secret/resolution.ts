import { SecretScope, type Secret } from '../../entities';

/** A name as a space (or an environment) sees it, with where its value comes from. */
export interface ResolvedSecret {
  readonly name: string;
  readonly source: SecretScope;
  /** The row that supplies the value. */
  readonly secret: Secret;
  /** The environment secret this one shadows, if any. */
  readonly overrides: Secret | null;
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

/**
 * DESIGN §2: the environment's secrets, each replaced by the space's secret of
 * the same name where the space has one, plus the space's own additions.
 * With no space secrets this is the environment's own view.
 */
export function resolveEffectiveSecrets(
  environmentSecrets: readonly Secret[],
  spaceSecrets: readonly Secret[] = [],
): ResolvedSecret[] {
  const byName = new Map<string, ResolvedSecret>();
  for (const secret of environmentSecrets) {
    byName.set(secret.name, { name: secret.name, source: SecretScope.ENVIRONMENT, secret, overrides: null });
  }
  for (const secret of spaceSecrets) {
    const inherited = byName.get(secret.name);
    byName.set(secret.name, {
      name: secret.name,
      source: SecretScope.SPACE,
      secret,
      overrides: inherited ? inherited.secret : null,
    });
  }
  return [...byName.values()].sort((a, b) => compareNames(a.name, b.name));
}

/** One name: the space's row wins, else the environment's; undefined when neither exists. */
export function resolveSecret(name: string, candidates: readonly Secret[]): ResolvedSecret | undefined {
  const own = candidates.find((s) => s.name === name && s.spaceId !== null);
  const inherited = candidates.find((s) => s.name === name && s.spaceId === null);
  if (own) return { name, source: SecretScope.SPACE, secret: own, overrides: inherited ?? null };
  if (inherited) return { name, source: SecretScope.ENVIRONMENT, secret: inherited, overrides: null };
  return undefined;
}
