import { randomInt, randomUUID } from 'node:crypto';

import { Secret, SecretScope } from '../../src/entities';
import { compareNames, resolveEffectiveSecrets, resolveSecret } from '../../src/modules/secret/resolution';

const environmentId = randomUUID();
const spaceId = randomUUID();

function secret(name: string, space: string | null = null): Secret {
  const s = new Secret();
  s.id = randomUUID();
  s.environmentId = environmentId;
  s.spaceId = space;
  s.name = name;
  s.version = 1;
  return s;
}

describe('resolveEffectiveSecrets', () => {
  const envOnly = secret('ENV_ONLY');
  const envShadowed = secret('SHARED');
  const spaceOverride = secret('SHARED', spaceId);
  const spaceOnly = secret('SPACE_ONLY', spaceId);
  const resolved = resolveEffectiveSecrets([envOnly, envShadowed], [spaceOverride, spaceOnly]);
  const byName = (name: string) => resolved.find((r) => r.name === name);

  it('returns each name once', () => {
    expect(resolved.map((r) => r.name)).toEqual(['ENV_ONLY', 'SHARED', 'SPACE_ONLY']);
  });

  it('an environment-only name comes from the ENVIRONMENT and overrides nothing', () => {
    expect(byName('ENV_ONLY')).toEqual({ name: 'ENV_ONLY', source: SecretScope.ENVIRONMENT, secret: envOnly, overrides: null });
  });

  it('a space-only name comes from the SPACE and overrides nothing', () => {
    expect(byName('SPACE_ONLY')).toEqual({ name: 'SPACE_ONLY', source: SecretScope.SPACE, secret: spaceOnly, overrides: null });
  });

  it('an overridden name comes from the SPACE row and points at the environment row it shadows', () => {
    const shared = byName('SHARED')!;
    expect(shared.source).toBe(SecretScope.SPACE);
    expect(shared.secret).toBe(spaceOverride);
    expect(shared.overrides).toBe(envShadowed);
  });

  it("with no space secrets it is the environment's own view", () => {
    expect(resolveEffectiveSecrets([envShadowed, envOnly])).toEqual([
      { name: 'ENV_ONLY', source: SecretScope.ENVIRONMENT, secret: envOnly, overrides: null },
      { name: 'SHARED', source: SecretScope.ENVIRONMENT, secret: envShadowed, overrides: null },
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
  const spaceShared = secret('SHARED', spaceId);
  const envOnly = secret('ENV_ONLY');
  const spaceOnly = secret('SPACE_ONLY', spaceId);

  it("prefers the space's row and reports the environment row it overrides, in any order", () => {
    const expected = { name: 'SHARED', source: SecretScope.SPACE, secret: spaceShared, overrides: envShared };
    expect(resolveSecret('SHARED', [envShared, spaceShared])).toEqual(expected);
    expect(resolveSecret('SHARED', [spaceShared, envShared])).toEqual(expected);
  });

  it('falls back to the environment row', () => {
    expect(resolveSecret('ENV_ONLY', [envOnly, spaceOnly])).toEqual({
      name: 'ENV_ONLY',
      source: SecretScope.ENVIRONMENT,
      secret: envOnly,
      overrides: null,
    });
  });

  it('a space-only row overrides nothing', () => {
    expect(resolveSecret('SPACE_ONLY', [envOnly, spaceOnly])).toEqual({
      name: 'SPACE_ONLY',
      source: SecretScope.SPACE,
      secret: spaceOnly,
      overrides: null,
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
