import 'reflect-metadata';

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { Client, type QueryConfig } from 'pg';

import { openBenchDatabase } from './database';
import { seedScope, shapeOf } from './seed';
import { startServer } from './server';

/*
 * The cost of each statement of a listener read, one at a time on one
 * connection: PostgreSQL backend CPU (from /proc), round-trip time, and
 * client CPU, unprepared (as TypeORM's DataSource.query sends them) and as
 * named prepared statements. The SQL is copied from token.service.ts,
 * secret.service.ts, secret.repository.ts and audit.service.ts (plus a
 * VALUES form of the one-row audit insert); keep it in step with them.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/statements.js   (needs PostgreSQL on 127.0.0.1:5432)
 */

const COLUMNS = 'id, environment_id, space_id, name, version, key_version, wrapped_dek, ciphertext, created_at, updated_at';
const CALLS = 2_000;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

function backendTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function main(): Promise<void> {
  const database = await openBenchDatabase({ embedded: false, databaseUrl: undefined });
  const server = await startServer({
    ...database.env,
    LOCAL_MASTER_KEYS: `bench-1:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'warn',
  });
  const client = new Client({ connectionString: database.url });
  try {
    const scope = await seedScope(server.container, 'statements', shapeOf(50));
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0].pid;
    const ticksPerSecond = 100;

    const statements: Record<string, [string, () => unknown[]]> = {
      'token (token.service authenticate)': [
        `SELECT id, role, environment_id, space_id,
                (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 millisecond') AS stale
           FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL`,
        () => [digest(scope.token), 60_000],
      ],
      'scope (secret.service resolveScope)': [
        `SELECT s.environment_id, s.id AS space_id, e.current_key_version
           FROM space s JOIN environment e ON e.id = s.environment_id WHERE s.id = $1`,
        () => [scope.spaceId],
      ],
      'rows (repository findSecretsByName)': [
        `SELECT ${COLUMNS} FROM secret WHERE environment_id = $1 AND name_digest = $2 AND space_id IS NULL
         UNION ALL
         SELECT ${COLUMNS} FROM secret WHERE space_id = $3 AND name_digest = $2 AND environment_id = $1`,
        () => [scope.environmentId, digest('SECRET_07'), scope.spaceId],
      ],
      'audit, 1 row (audit.service unnest)': [
        `INSERT INTO audit_event
           (id, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source, subject_token_id)
         SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[],
                              $7::text[], $8::int[], $9::varchar[], $10::uuid[])`,
        () => [[randomUUID()], ['SECRET_READ'], [null], [scope.environmentId], [scope.spaceId], [randomUUID()], ['SECRET_07'], [1], ['SPACE'], [null]],
      ],
      'audit, 1 row as VALUES': [
        `INSERT INTO audit_event (id, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        () => [randomUUID(), 'SECRET_READ', null, scope.environmentId, scope.spaceId, randomUUID(), 'SECRET_07', 1, 'SPACE'],
      ],
      'SELECT 1 (round-trip floor)': ['SELECT 1', () => []],
    };

    process.stdout.write(`${CALLS} calls each, one connection, sequential\n\n`);
    process.stdout.write(`${'statement'.padEnd(38)} ${'mode'.padEnd(11)} ${'DB CPU'.padStart(8)} ${'round trip'.padStart(11)} ${'client CPU'.padStart(11)}\n`);
    let n = 0;
    for (const [label, [text, values]] of Object.entries(statements)) {
      const name = `bench_statement_${n++}`;
      for (const prepared of [false, true]) {
        const config = (): QueryConfig => (prepared ? { name, text, values: values() } : { text, values: values() });
        for (let i = 0; i < 200; i++) await client.query(config());
        const ticks = backendTicks(pid);
        const cpu = process.cpuUsage();
        const started = performance.now();
        for (let i = 0; i < CALLS; i++) await client.query(config());
        const wallUs = ((performance.now() - started) * 1000) / CALLS;
        const used = process.cpuUsage(cpu);
        const dbUs = (((backendTicks(pid) - ticks) / ticksPerSecond) * 1e6) / CALLS;
        process.stdout.write(
          `${label.padEnd(38)} ${(prepared ? 'prepared' : 'unprepared').padEnd(11)} ${`${dbUs.toFixed(0)} µs`.padStart(8)} ` +
            `${`${wallUs.toFixed(0)} µs`.padStart(11)} ${`${((used.user + used.system) / CALLS).toFixed(0)} µs`.padStart(11)}\n`,
        );
      }
    }
  } finally {
    await client.end().catch(() => undefined);
    await server.close();
    await database.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`statements bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
