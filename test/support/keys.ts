import { AccessPolicy } from '../../src/modules/access/access-policy';
import type { RewrapOptions, RotateOptions } from '../../src/modules/keys/key-rotation.types';
import type { TestApp } from './app';
import { dataOf } from './operations';

/* Shared by the key-rotation tests: fast seeding through the service, and reading every value back. */

export const valueFor = (environmentId: string, name: string, round = 0) => `value of ${name} in ${environmentId} #${round}`;

/** Writes `count` environment-level secrets through SecretService (no HTTP), `parallel` at a time. */
export async function seedSecrets(
  app: TestApp,
  environmentId: string,
  count: number,
  options: { prefix?: string; parallel?: number; spaceId?: string } = {},
): Promise<string[]> {
  const prefix = options.prefix ?? 'SECRET_';
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      await app.container.secrets.upsert(AccessPolicy.system, {
        environmentId,
        spaceId: options.spaceId,
        name,
        value: valueFor(options.spaceId ?? environmentId, name),
      });
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 8 }, worker));
  return names;
}

export async function createEnvironmentViaService(app: TestApp, name: string): Promise<string> {
  return (await app.container.environments.create(AccessPolicy.system, { name })).id;
}

/** Every effective value of an environment, read with a LISTENER token: name → value. */
export async function readValues(app: TestApp, environmentId: string, spaceId?: string): Promise<Map<string, string>> {
  const token = await app.listener(environmentId, spaceId);
  const response = await app.gql(
    `query($e: ID, $s: ID) { effectiveSecrets(environmentId: $e, spaceId: $s) { name value } }`,
    { e: spaceId ? undefined : environmentId, s: spaceId },
    token,
  );
  const list = dataOf(response).effectiveSecrets as { name: string; value: string }[];
  return new Map(list.map((s) => [s.name, s.value]));
}

export async function expectAllValues(app: TestApp, environmentId: string, names: readonly string[]): Promise<void> {
  const values = await readValues(app, environmentId);
  expect(values.size).toBe(names.length);
  for (const name of names) expect(values.get(name)).toBe(valueFor(environmentId, name));
}

/** The CLI's key operations, run as the CLI runs them (the system caller). */
export const rotationOf = (app: Pick<TestApp, 'container'>) => {
  const { keys } = app.container;
  return {
    rewrapAll: (options?: RewrapOptions) => keys.rewrapAll(AccessPolicy.system, options),
    rotateEnvironment: (environmentId: unknown, options?: RotateOptions) => keys.rotateEnvironment(AccessPolicy.system, environmentId, options),
    status: () => keys.status(AccessPolicy.system),
  };
};

export async function environmentKeyRows(app: TestApp, environmentId?: string) {
  return app.sql<{ environment_id: string; version: number; provider_id: string; key_ref: string; wrapped_key: Buffer }>(
    `SELECT environment_id, version, provider_id, key_ref, wrapped_key FROM environment_key
      ${environmentId ? 'WHERE environment_id = $1' : ''} ORDER BY environment_id, version`,
    environmentId ? [environmentId] : [],
  );
}

export async function auditCount(app: TestApp, action: string, environmentId?: string): Promise<number> {
  const [{ n }] = await app.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM audit_event WHERE action = $1 ${environmentId ? 'AND environment_id = $2' : ''}`,
    environmentId ? [action, environmentId] : [action],
  );
  return n;
}

/** Runs `read` in a loop until `stop` resolves; returns how many reads ran and which failed. */
export async function readWhile(stop: Promise<unknown>, read: () => Promise<void>, parallel = 4) {
  let running = true;
  const finished = stop.finally(() => (running = false));
  const failures: unknown[] = [];
  let reads = 0;
  const loop = async () => {
    while (running) {
      try {
        await read();
      } catch (error) {
        failures.push(error);
      }
      reads += 1;
    }
  };
  await Promise.all([...Array.from({ length: parallel }, loop), finished.catch(() => undefined)]);
  return { reads, failures };
}
