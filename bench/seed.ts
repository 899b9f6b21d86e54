import { randomUUID } from 'node:crypto';

import type { Container } from '../src/container';
import { sealValue } from '../src/crypto/envelope';
import { TokenRole } from '../src/entities';
import { AccessPolicy } from '../src/modules/access/access-policy';
import { nameDigest } from '../src/modules/secret/secret.repository';

/*
 * Test data: environments, spaces and tokens through the services (no HTTP);
 * secrets of the small read scope through SecretService.upsert, those of the
 * big lists sealed by the envelope under the environment's key and inserted
 * 500 rows per statement (the upsert costs seven statements a secret, which
 * made seeding 6,000 values take most of `--quick`'s minute). The INSERT
 * names the secret table's columns as secret.repository.ts does: a schema
 * change breaks it loudly. Values say where they belong, so a response can
 * be checked name by name.
 */

const BULK_ROWS = 500;

const BULK_INSERT = `INSERT INTO secret (id, environment_id, space_id, name, name_digest, version, key_version, wrapped_dek, ciphertext)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $6::int[], $7::int[], $8::bytea[], $9::bytea[])`;

export const valueFor = (scopeId: string, name: string) => `value of ${name} in ${scopeId}`;

export interface SeededScope {
  readonly environmentId: string;
  readonly spaceId: string;
  /** A LISTENER token bound to the environment. */
  readonly token: string;
  /** The effective view of the space: name → expected value. */
  readonly expected: ReadonlyMap<string, string>;
}

export interface ScopeShape {
  /** Names of the effective list. */
  readonly effective: number;
  /** How many of them the space overrides. */
  readonly overrides: number;
  /** How many of them only the space has. */
  readonly additions: number;
}

/** A tenth overridden, a twentieth added by the space, the rest inherited. */
export const shapeOf = (effective: number): ScopeShape => ({
  effective,
  overrides: Math.max(1, Math.floor(effective / 10)),
  additions: Math.max(1, Math.floor(effective / 20)),
});

async function inParallel<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

export async function listenerToken(container: Container, environmentId: string, spaceId?: string): Promise<string> {
  const { token } = await container.tokens.create(AccessPolicy.system, { name: `bench listener ${spaceId ?? environmentId}`.slice(0, 128), role: TokenRole.LISTENER, environmentId, spaceId });
  return token;
}

/** An environment and one space whose effective list has `shape.effective` names. */
export async function seedScope(
  container: Container,
  label: string,
  shape: ScopeShape,
  options: { bulk?: boolean; parallel?: number } = {},
): Promise<SeededScope> {
  const parallel = options.parallel ?? 8;
  const environment = await container.environments.create(AccessPolicy.system, { name: label });
  const space = await container.spaces.create(AccessPolicy.system, { environmentId: environment.id, name: `${label} space` });
  const inherited = shape.effective - shape.additions;
  const pad = String(shape.effective).length;
  const envNames = Array.from({ length: inherited }, (_, i) => `SECRET_${String(i).padStart(pad, '0')}`);
  const overridden = envNames.slice(0, shape.overrides);
  const added = Array.from({ length: shape.additions }, (_, i) => `SPACE_ONLY_${String(i).padStart(pad, '0')}`);

  const writes = [
    ...envNames.map((name) => ({ name, spaceId: undefined as string | undefined, value: valueFor(environment.id, name) })),
    ...[...overridden, ...added].map((name) => ({ name, spaceId: space.id, value: valueFor(space.id, name) })),
  ];
  if (options.bulk) {
    const keyVersion = environment.currentKeyVersion;
    const key = await container.keyring.key(environment.id, keyVersion);
    const rows = writes.map((write) => {
      const owner = { secretId: randomUUID(), environmentId: environment.id, spaceId: write.spaceId ?? null, name: write.name, version: 1 };
      return { owner, sealed: sealValue(write.value, owner, key, keyVersion) };
    });
    const batches = Array.from({ length: Math.ceil(rows.length / BULK_ROWS) }, (_, i) => rows.slice(i * BULK_ROWS, (i + 1) * BULK_ROWS));
    await inParallel(batches, 2, async (batch) => {
      await container.database.dataSource.query(BULK_INSERT, [
        batch.map((r) => r.owner.secretId),
        batch.map((r) => r.owner.environmentId),
        batch.map((r) => r.owner.spaceId),
        batch.map((r) => r.owner.name),
        batch.map((r) => nameDigest(r.owner.name)),
        batch.map((r) => r.owner.version),
        batch.map(() => keyVersion),
        batch.map((r) => r.sealed.wrappedDek),
        batch.map((r) => r.sealed.ciphertext),
      ]);
    });
  } else {
    await inParallel(writes, parallel, async (write) => {
      await container.secrets.upsert(AccessPolicy.system, { environmentId: environment.id, ...write });
    });
  }

  const expected = new Map<string, string>();
  for (const name of envNames) expected.set(name, valueFor(environment.id, name));
  for (const name of [...overridden, ...added]) expected.set(name, valueFor(space.id, name));
  return { environmentId: environment.id, spaceId: space.id, token: await listenerToken(container, environment.id), expected };
}

/** Environments with `secrets` environment-level values each, and a LISTENER token per environment. */
export async function seedEnvironments(
  container: Container,
  label: string,
  count: number,
  secrets: number,
): Promise<{ environmentId: string; token: string; names: string[] }[]> {
  const seeded: { environmentId: string; token: string; names: string[] }[] = [];
  for (let i = 0; i < count; i++) {
    const environment = await container.environments.create(AccessPolicy.system, { name: `${label} ${i}` });
    const names = Array.from({ length: secrets }, (_, n) => `COLD_${n}`);
    await inParallel(names, 4, async (name) => {
      await container.secrets.upsert(AccessPolicy.system, { environmentId: environment.id, name, value: valueFor(environment.id, name) });
    });
    seeded.push({ environmentId: environment.id, token: await listenerToken(container, environment.id), names });
  }
  return seeded;
}
