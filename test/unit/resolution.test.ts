import { randomInt, randomUUID } from 'node:crypto';

import { Secret, SecretScope } from '../../src/entities';
import { compareNames, resolveEffectiveSecrets, resolveSecret, shadowedBy } from '../../src/modules/secret/resolution';

const environmentId = randomUUID();
const spaceId = randomUUID();

function secret(name: string, space: string | null = null, actorId: string | null = null): Secret {
  const s = new Secret();
  s.id = randomUUID();
  s.environmentId = environmentId;
  s.spaceId = space;
  s.actorId = actorId;
  s.name = name;
  s.version = 1;
  s.shadowedId = null;
  s.shadowedVersion = null;
  return s;
}

/** Records that `over` was written while it shadowed `under` (as a write does). */
function writtenOver(over: Secret, under: Secret): Secret {
  over.shadowedId = under.id;
  over.shadowedVersion = under.version;
  return over;
}

const plain = { overrideStale: false, actorId: null };

describe('resolveEffectiveSecrets', () => {
  const envOnly = secret('ENV_ONLY');
  const envShadowed = secret('SHARED');
  const spaceOverride = writtenOver(secret('SHARED', spaceId), envShadowed);
  const spaceOnly = secret('SPACE_ONLY', spaceId);
  const resolved = resolveEffectiveSecrets([envOnly, envShadowed], [spaceOverride, spaceOnly]);
  const byName = (name: string) => resolved.find((r) => r.name === name);

  it('returns each name once', () => {
    expect(resolved.map((r) => r.name)).toEqual(['ENV_ONLY', 'SHARED', 'SPACE_ONLY']);
  });

  it('an environment-only name comes from the ENVIRONMENT and overrides nothing', () => {
    expect(byName('ENV_ONLY')).toEqual({ name: 'ENV_ONLY', source: SecretScope.ENVIRONMENT, secret: envOnly, overrides: null, ...plain });
  });

  it('a space-only name comes from the SPACE and overrides nothing', () => {
    expect(byName('SPACE_ONLY')).toEqual({ name: 'SPACE_ONLY', source: SecretScope.SPACE, secret: spaceOnly, overrides: null, ...plain });
  });

  it('an overridden name comes from the SPACE row and points at the environment row it shadows', () => {
    const shared = byName('SHARED')!;
    expect(shared.source).toBe(SecretScope.SPACE);
    expect(shared.secret).toBe(spaceOverride);
    expect(shared.overrides).toBe(envShadowed);
  });

  it("with no space secrets it is the environment's own view", () => {
    expect(resolveEffectiveSecrets([envShadowed, envOnly])).toEqual([
      { name: 'ENV_ONLY', source: SecretScope.ENVIRONMENT, secret: envOnly, overrides: null, ...plain },
      { name: 'SHARED', source: SecretScope.ENVIRONMENT, secret: envShadowed, overrides: null, ...plain },
    ]);
  });

  it('is empty for empty input', () => {
    expect(resolveEffectiveSecrets([], [])).toEqual([]);
  });

  it('names differing only in case are different secrets', () => {
    const names = resolveEffectiveSecrets([secret('token')], [secret('Token', spaceId)]).map((r) => [r.name, r.overrides]);
    expect(names).toEqual([
      ['Token', null],
      ['token', null],
    ]);
  });

  it('sorts by code point, whichever side a name comes from', () => {
    const names = ['a', '😀', 'Z', '\uFFFF', 'é', 'B', 'ab', 'A b', 'a b'];
    const environment = names.filter((_, i) => i % 2 === 0).map((n) => secret(n));
    const space = names.filter((_, i) => i % 2 === 1).map((n) => secret(n, spaceId));
    expect(resolveEffectiveSecrets(environment, space).map((r) => r.name)).toEqual([
      'A b',
      'B',
      'Z',
      'a',
      'a b',
      'ab',
      'é',
      '\uFFFF',
      '😀',
    ]);
  });
});

describe('compareNames', () => {
  const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

  /** A well-formed random string mixing ASCII, BMP (incl. near U+FFFF) and astral code points. */
  function randomName(): string {
    const ranges: [number, number][] = [
      [0x20, 0x7e],
      [0xa0, 0x7ff],
      [0xe000, 0xffff],
      [0x10000, 0x10ffff],
    ];
    let s = '';
    const length = randomInt(0, 6);
    for (let i = 0; i < length; i++) {
      const [lo, hi] = ranges[randomInt(ranges.length)];
      s += String.fromCodePoint(randomInt(lo, hi + 1));
    }
    return s;
  }

  it('agrees with Buffer.compare of UTF-8 on random strings', () => {
    for (let i = 0; i < 5000; i++) {
      const a = randomName();
      // Half the time share a prefix, so the tail and length rules get exercised too.
      const b = i % 2 ? randomName() : a.slice(0, randomInt(0, a.length + 1)) + randomName();
      expect([a, b, Math.sign(compareNames(a, b))]).toEqual([a, b, Math.sign(byUtf8(a, b))]);
    }
  });

  it('orders astral characters after U+FFFF (unlike UTF-16 order)', () => {
    expect(compareNames('\uFFFF', '😀')).toBeLessThan(0);
    expect(compareNames('😀', '\uFFFF')).toBeGreaterThan(0);
    expect(compareNames('a😀', 'a')).toBeGreaterThan(0);
    expect(compareNames('x', 'x')).toBe(0);
  });
});

describe('resolveSecret', () => {
  const envShared = secret('SHARED');
  const spaceShared = writtenOver(secret('SHARED', spaceId), envShared);
  const envOnly = secret('ENV_ONLY');
  const spaceOnly = secret('SPACE_ONLY', spaceId);

  it("prefers the space's row and reports the environment row it overrides, in any order", () => {
    const expected = { name: 'SHARED', source: SecretScope.SPACE, secret: spaceShared, overrides: envShared, ...plain };
    expect(resolveSecret('SHARED', [envShared, spaceShared])).toEqual(expected);
    expect(resolveSecret('SHARED', [spaceShared, envShared])).toEqual(expected);
  });

  it('falls back to the environment row', () => {
    expect(resolveSecret('ENV_ONLY', [envOnly, spaceOnly])).toEqual({
      name: 'ENV_ONLY',
      source: SecretScope.ENVIRONMENT,
      secret: envOnly,
      overrides: null,
      ...plain,
    });
  });

  it('a space-only row overrides nothing', () => {
    expect(resolveSecret('SPACE_ONLY', [envOnly, spaceOnly])).toEqual({
      name: 'SPACE_ONLY',
      source: SecretScope.SPACE,
      secret: spaceOnly,
      overrides: null,
      ...plain,
    });
  });

  it('returns undefined for a missing name, matching names exactly', () => {
    const all = [envShared, spaceShared, envOnly, spaceOnly];
    expect(resolveSecret('MISSING', all)).toBeUndefined();
    expect(resolveSecret('shared', all)).toBeUndefined();
    expect(resolveSecret('SHARED ', all)).toBeUndefined();
    expect(resolveSecret('SHARED', [])).toBeUndefined();
  });

  it('agrees with resolveEffectiveSecrets for every name', () => {
    const environment = [envShared, envOnly];
    const space = [spaceShared, spaceOnly];
    for (const effective of resolveEffectiveSecrets(environment, space)) {
      expect(resolveSecret(effective.name, [...environment, ...space])).toEqual(effective);
    }
  });
});

describe('personal values: (S, A), (E, A), (S), (E), first present wins (DESIGN §10)', () => {
  const ACTOR = 'us_ag_1a2b3c';
  const rows = {
    SA: secret('N', spaceId, ACTOR),
    EA: secret('N', null, ACTOR),
    S: secret('N', spaceId),
    E: secret('N'),
  };
  type Candidate = keyof typeof rows;
  const ORDER: Candidate[] = ['SA', 'EA', 'S', 'E'];
  const subsets = Array.from({ length: 16 }, (_, mask) => ORDER.filter((_, i) => mask & (1 << i)));
  const cases = subsets.flatMap((present) =>
    [true, false].flatMap((withActor) => [true, false].map((withSpace) => [present, withActor, withSpace] as const)),
  );

  it.each(cases)('present %j, actor %s, space %s', (present, withActor, withSpace) => {
    /* A view without a space never holds space rows; without an actor, personal rows still come from the database only for that actor. */
    const inView = present.filter((c) => withSpace || !c.startsWith('S'));
    const candidates = inView.map((c) => rows[c]);
    const eligible = ORDER.filter((c) => inView.includes(c) && (withActor || !c.endsWith('A')));
    const result = resolveSecret('N', candidates, withActor ? ACTOR : null);
    if (eligible.length === 0) return expect(result).toBeUndefined();
    expect(result?.secret).toBe(rows[eligible[0]]);
    expect(result?.overrides ?? null).toBe(eligible[1] ? rows[eligible[1]] : null);
    expect(result?.actorId).toBe(eligible[0].endsWith('A') ? ACTOR : null);
    expect(result?.source).toBe(eligible[0].startsWith('S') ? SecretScope.SPACE : SecretScope.ENVIRONMENT);
    expect(resolveEffectiveSecrets(
      candidates.filter((c) => c.spaceId === null),
      candidates.filter((c) => c.spaceId !== null),
      withActor ? ACTOR : null,
    )).toEqual([result]);
  });

  it("never lets another actor's personal row take part", () => {
    const theirs = secret('N', spaceId, 'someone_else');
    const shared = secret('N');
    expect(resolveSecret('N', [theirs, shared], ACTOR)?.secret).toBe(shared);
    expect(resolveSecret('N', [theirs], ACTOR)).toBeUndefined();
    expect(resolveSecret('N', [theirs], null)).toBeUndefined();
  });
});

describe('overrideStale', () => {
  it('is false when the row underneath is the one recorded at the write', () => {
    const under = secret('N');
    const over = writtenOver(secret('N', spaceId), under);
    expect(resolveSecret('N', [under, over])?.overrideStale).toBe(false);
  });

  it('is true once the row underneath has a new version', () => {
    const under = secret('N');
    const over = writtenOver(secret('N', spaceId), under);
    under.version = 2;
    expect(resolveSecret('N', [under, over])?.overrideStale).toBe(true);
  });

  it('is true when a row appeared underneath, or the recorded one is gone', () => {
    const appeared = secret('N');
    expect(resolveSecret('N', [appeared, secret('N', spaceId)])?.overrideStale).toBe(true);
    const gone = writtenOver(secret('N', spaceId), secret('N'));
    expect(resolveSecret('N', [gone])?.overrideStale).toBe(true);
  });

  it('is true when another row replaced the recorded one underneath', () => {
    const original = secret('N');
    const over = writtenOver(secret('N', spaceId, 'a'), original);
    const replacement = secret('N', spaceId);
    expect(resolveSecret('N', [original, over, replacement], 'a')?.overrideStale).toBe(true);
  });
});

describe('overrideStale of an environment-level personal value seen from a space', () => {
  it('compares with what it shadowed at environment level, not with the space row below it in this view', () => {
    const E = secret('N');
    const S = writtenOver(secret('N', spaceId), E);
    const EA = writtenOver(secret('N', null, 'a'), E);
    const seen = resolveSecret('N', [E, S, EA], 'a')!;
    expect(seen.overrides).toBe(S);
    expect(seen.overrideStale).toBe(false);
    E.version = 2;
    expect(resolveSecret('N', [E, S, EA], 'a')!.overrideStale).toBe(true);
  });
});

describe('shadowedBy: what a write records', () => {
  it('is the next candidate below the written row in its own placement', () => {
    const E = secret('N');
    const S = secret('N', spaceId);
    const EA = secret('N', null, 'a');
    expect(shadowedBy({ spaceId, actorId: 'a' }, [E, S, EA])).toBe(EA);
    expect(shadowedBy({ spaceId: null, actorId: 'a' }, [E])).toBe(E);
    expect(shadowedBy({ spaceId, actorId: null }, [E, EA])).toBe(E);
    expect(shadowedBy({ spaceId: null, actorId: null }, [EA])).toBeNull();
  });
});
