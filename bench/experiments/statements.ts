import 'reflect-metadata';

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { Client, type QueryConfig } from 'pg';

import { AuditAction, SecretScope } from '../../src/entities';
import { LAST_USED_RESOLUTION_MS, TOKEN_LOOKUP_SQL } from '../../src/modules/token/token.service';
import type { AuditRecord } from '../../src/modules/audit/audit-record';
import { AUDIT_READ_INSERT_SQL, encodeReads } from '../../src/modules/audit/audit.service';
import { FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL, FIND_PLACEMENT_SQL } from '../../src/modules/secret/secret.repository';
import { openBenchDatabase } from '../database';
import { seedScope, shapeOf } from '../seed';
import { startServer } from '../server';

/*
 * The cost of each statement of a listener read, one at a time on one
 * connection: PostgreSQL backend CPU (from /proc), round-trip time, and
 * client CPU, unprepared (parsed and planned on every call) and as named
 * prepared statements. The SQL is the product's own text, imported.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/experiments/statements.js   (needs PostgreSQL on 127.0.0.1:5432)
 */

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

    const auditRow = (): AuditRecord => ({
      action: AuditAction.SECRET_READ,
      tokenId: null,
      environmentId: scope.environmentId,
      spaceId: scope.spaceId,
      secretId: randomUUID(),
      secretName: 'SECRET_07',
      secretVersion: 1,
      source: SecretScope.SPACE,
    });
    const statements: Record<string, [string, () => unknown[]]> = {
      'token (token.service lookups)': [TOKEN_LOOKUP_SQL, () => [[digest(scope.token)], LAST_USED_RESOLUTION_MS]],
      'scope (secret.service resolveScope)': [FIND_PLACEMENT_SQL, () => [scope.environmentId, scope.spaceId]],
      'scope + rows (repository, by name)': [FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL, () => [scope.environmentId, scope.spaceId, digest('SECRET_07'), null]],
      'audit, 1 row (audit.service append)': [AUDIT_READ_INSERT_SQL, () => [encodeReads([auditRow()])]],
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
