import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';

import { dekKeyVersion, openValue, sealValue } from '../src/crypto/envelope';
import type { EnvironmentKeyring } from '../src/crypto/keyring';

/*
 * The floor for this stack: node:http, one pg Pool with named (prepared)
 * statements, the envelope's AES-GCM decryptions with the keyring's cached
 * keys, JSON.stringify. No framework, no validation beyond what the SQL
 * needs, no access rules.
 *
 *   GET  /noop                                   no work: node:http's own cost
 *   GET  /secret?name=&environmentId=&spaceId=   one name, space row wins (1 statement)
 *   GET  /secret-audited?…                       the same plus the statements the
 *                                                service also runs: token lookup, scope
 *                                                lookup, audit insert (4 statements)
 *   GET  /secret-audited-unnamed?…               the same 4 statements, unprepared (as TypeORM sends them)
 *   GET  /secret-merged?…                        the same work in 2 statements (token + scope + rows, audit)
 *   GET  /secret-merged-async-commit?…           … with the audit insert under synchronous_commit=off
 *   GET  /secret-merged-batched?…                … with the audit inserts of concurrent requests in one statement
 *   GET  /list?environmentId=&spaceId=           the effective list, overrides applied (1 statement)
 *   POST /write?environmentId=&name=             body = value: key version, then in one transaction
 *                                                lock, seal, insert or update, audit (the domain's minimum)
 */

interface SecretRow {
  id: string;
  environment_id: string;
  space_id: string | null;
  name: string;
  version: number;
  wrapped_dek: Buffer;
  ciphertext: Buffer;
}

const COLUMNS = 'id, environment_id, space_id, name, version, wrapped_dek, ciphertext';

const BY_NAME = `SELECT ${COLUMNS} FROM secret WHERE environment_id = $1 AND name_digest = $2 AND space_id IS NULL
  UNION ALL
  SELECT ${COLUMNS} FROM secret WHERE space_id = $3 AND name_digest = $2 AND environment_id = $1`;
const IN_SCOPE = `SELECT ${COLUMNS} FROM secret WHERE (space_id IS NULL AND environment_id = $1) OR space_id = $2`;
const TOKEN = `SELECT id, role, environment_id, space_id FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL`;
const SCOPE = `SELECT s.environment_id, s.id AS space_id, e.current_key_version
  FROM space s JOIN environment e ON e.id = s.environment_id WHERE s.id = $1`;
const AUDIT = `INSERT INTO audit_event (id, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
const AUDIT_BATCH = `INSERT INTO audit_event (id, action, token_id, environment_id, space_id, secret_id, secret_name, secret_version, source)
  SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::int[], $9::varchar[])`;
const LOCK = `SELECT id, version FROM secret WHERE environment_id = $1 AND name_digest = $2 AND space_id IS NULL FOR UPDATE`;
const CURRENT_KEY = `SELECT current_key_version FROM environment WHERE id = $1`;
const INSERT = `INSERT INTO secret (id, environment_id, space_id, name, name_digest, version, key_version, wrapped_dek, ciphertext)
  VALUES ($1, $2, NULL, $3, $4, 1, $5, $6, $7)`;
const UPDATE = `UPDATE secret SET version = $2, key_version = $3, wrapped_dek = $4, ciphertext = $5, updated_at = now() WHERE id = $1`;

const MERGED = `SELECT t.id AS token_id, r.* FROM api_token t
  JOIN space s ON s.id = $2
  LEFT JOIN LATERAL (
    SELECT ${COLUMNS} FROM secret WHERE environment_id = s.environment_id AND name_digest = $3 AND space_id IS NULL
    UNION ALL
    SELECT ${COLUMNS} FROM secret WHERE space_id = s.id AND name_digest = $3 AND environment_id = s.environment_id
  ) r ON true
  WHERE t.token_hash = $1 AND t.revoked_at IS NULL`;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

const bearer = (authorization: string | undefined) => {
  const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new HttpError(401, 'no token');
  return token;
};

const prepared = (name: string, text: string, values: unknown[]): QueryConfig => ({ name: `bench_${name}`, text, values });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface BaselineServer {
  readonly url: string;
  /** SQL statements sent so far (BEGIN and COMMIT included). */
  readonly statements: number;
  close(): Promise<void>;
}

export interface BaselineOptions {
  /** A pool whose connections run with synchronous_commit off, for the async-commit experiment. */
  readonly asyncCommitPool?: Pool;
}

export async function startBaselineServer(
  pool: Pool,
  keyring: Pick<EnvironmentKeyring, 'key'>,
  options: BaselineOptions = {},
): Promise<BaselineServer> {
  let statements = 0;
  /* Every statement goes through here, so the bench can report statements per request. */
  const sql = <R extends QueryResultRow>(db: Pool | PoolClient, config: QueryConfig | string) => {
    statements += 1;
    return db.query<R>(config);
  };
  const reveal = async (row: SecretRow) => {
    const key = await keyring.key(row.environment_id, dekKeyVersion(row.wrapped_dek));
    return openValue(
      { wrappedDek: row.wrapped_dek, ciphertext: row.ciphertext },
      { secretId: row.id, environmentId: row.environment_id, spaceId: row.space_id, name: row.name, version: row.version },
      key,
    );
  };

  /* Audit records of the requests in flight, written by one statement on the next turn of the event loop. */
  const auditBatch = {
    pending: [] as { record: unknown[]; done: (error?: unknown) => void }[],
    add(record: unknown[]): Promise<void> {
      return new Promise((resolve, reject) => {
        if (this.pending.length === 0) setImmediate(() => void this.flush());
        this.pending.push({ record, done: (error) => (error ? reject(error) : resolve()) });
      });
    },
    async flush(): Promise<void> {
      const batch = this.pending;
      this.pending = [];
      const column = (i: number) => batch.map((b) => b.record[i]);
      try {
        await sql(pool, prepared('audit_batch', AUDIT_BATCH, [column(0), column(1), column(2), column(3), column(4), column(5), column(6), column(7), column(8)]));
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.done(error);
      }
    },
  };

  /** The space's row wins, else the environment's. */
  const pick = (rows: SecretRow[], name: string) => {
    const row = rows.find((r) => r.space_id !== null && r.name === name) ?? rows.find((r) => r.name === name);
    if (!row) throw new HttpError(404, 'no such secret');
    return row;
  };

  const findByName = async (name: string, environmentId: string, spaceId: string | null) => {
    const { rows } = await sql<SecretRow>(pool, prepared('by_name', BY_NAME, [environmentId, digest(name), spaceId]));
    return pick(rows, name);
  };

  const single = async (query: URLSearchParams) => {
    const row = await findByName(query.get('name') ?? '', query.get('environmentId') ?? '', query.get('spaceId'));
    return { data: { secret: { value: await reveal(row), source: row.space_id === null ? 'ENVIRONMENT' : 'SPACE' } } };
  };

  /*
   * The four statements a listener read costs in the service (token, scope,
   * secret, audit), still framework-free. `unnamed`: as TypeORM sends them
   * (parsed and planned on every call), to measure what prepared statements save.
   */
  const audited = async (query: URLSearchParams, authorization: string | undefined, unnamed = false) => {
    const statement = (name: string, text: string, values: unknown[]): QueryConfig => (unnamed ? { text, values } : prepared(name, text, values));
    const token = bearer(authorization);
    const tokens = await sql<{ id: string }>(pool, statement('token', TOKEN, [digest(token)]));
    if (!tokens.rows[0]) throw new HttpError(401, 'unknown token');
    const scopes = await sql<{ environment_id: string; space_id: string }>(pool, statement('scope', SCOPE, [query.get('spaceId')]));
    const scope = scopes.rows[0];
    if (!scope) throw new HttpError(404, 'no such space');
    const name = query.get('name') ?? '';
    const { rows } = await sql<SecretRow>(pool, statement('by_name', BY_NAME, [scope.environment_id, digest(name), scope.space_id]));
    const row = pick(rows, name);
    const value = await reveal(row);
    const source = row.space_id === null ? 'ENVIRONMENT' : 'SPACE';
    await sql(
      pool,
      statement('audit', AUDIT, [randomUUID(), 'SECRET_READ', tokens.rows[0].id, row.environment_id, row.space_id, row.id, row.name, row.version, source]),
    );
    return { data: { secret: { value, source } } };
  };

  /*
   * The same work in two statements: token, scope and rows in one, then the
   * audit insert: on its own (`each`), on a connection with
   * synchronous_commit off (`async-commit`: what the commit's WAL flush
   * costs), or gathered with the other requests in flight into one insert
   * before any of them answers (`batched`: the audit guarantee kept, one
   * commit for many reads).
   */
  const merged = async (query: URLSearchParams, authorization: string | undefined, audit: 'each' | 'async-commit' | 'batched') => {
    const token = bearer(authorization);
    const name = query.get('name') ?? '';
    const { rows } = await sql<SecretRow & { token_id: string }>(pool, prepared('merged', MERGED, [digest(token), query.get('spaceId'), digest(name)]));
    if (!rows[0]) throw new HttpError(401, 'unknown token or space');
    const row = pick(rows.filter((r) => r.id !== null), name);
    const value = await reveal(row);
    const source = row.space_id === null ? 'ENVIRONMENT' : 'SPACE';
    const record: unknown[] = [randomUUID(), 'SECRET_READ', rows[0].token_id, row.environment_id, row.space_id, row.id, row.name, row.version, source];
    if (audit === 'batched') await auditBatch.add(record);
    else if (audit === 'async-commit') {
      if (!options.asyncCommitPool) throw new HttpError(404, 'no async-commit pool (embedded database)');
      await sql(options.asyncCommitPool, prepared('audit', AUDIT, record));
    } else await sql(pool, prepared('audit', AUDIT, record));
    return { data: { secret: { value, source } } };
  };

  const list = async (query: URLSearchParams) => {
    const environmentId = query.get('environmentId') ?? '';
    const { rows } = await sql<SecretRow>(pool, prepared('in_scope', IN_SCOPE, [environmentId, query.get('spaceId')]));
    const byName = new Map<string, SecretRow>();
    for (const row of rows) if (row.space_id === null) byName.set(row.name, row);
    for (const row of rows) if (row.space_id !== null) byName.set(row.name, row);
    const names = [...byName.keys()].sort();
    const data = [];
    for (const name of names) {
      const row = byName.get(name)!;
      data.push({ id: row.id, name, value: await reveal(row), environmentId: row.environment_id, spaceId: row.space_id });
    }
    return { data };
  };

  const write = async (query: URLSearchParams, value: string) => {
    const environmentId = query.get('environmentId') ?? '';
    const name = query.get('name') ?? '';
    const nameDigest = digest(name);
    const client: PoolClient = await pool.connect();
    try {
      const { rows: envRows } = await sql<{ current_key_version: number }>(client, prepared('current_key', CURRENT_KEY, [environmentId]));
      if (!envRows[0]) throw new HttpError(404, 'no such environment');
      const keyVersion = envRows[0].current_key_version;
      const key = await keyring.key(environmentId, keyVersion);
      await sql(client, 'BEGIN');
      const { rows } = await sql<{ id: string; version: number }>(client, prepared('lock', LOCK, [environmentId, nameDigest]));
      const existing = rows[0];
      const owner = { secretId: existing?.id ?? randomUUID(), environmentId, spaceId: null, name, version: (existing?.version ?? 0) + 1 };
      const sealed = sealValue(value, owner, key, keyVersion);
      if (existing) {
        await sql(client, prepared('update', UPDATE, [existing.id, owner.version, keyVersion, sealed.wrappedDek, sealed.ciphertext]));
      } else {
        await sql(client, prepared('insert', INSERT, [owner.secretId, environmentId, name, nameDigest, keyVersion, sealed.wrappedDek, sealed.ciphertext]));
      }
      await sql(
        client,
        prepared('audit', AUDIT, [randomUUID(), 'SECRET_WRITTEN', null, environmentId, null, owner.secretId, name, owner.version, 'ENVIRONMENT']),
      );
      await sql(client, 'COMMIT');
      return { data: { id: owner.secretId, version: owner.version } };
    } catch (error) {
      await sql(client, 'ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  const readBody = (request: http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      request.on('error', reject);
    });

  const handle = async (request: http.IncomingMessage): Promise<unknown> => {
    const url = new URL(request.url ?? '/', 'http://baseline');
    switch (`${request.method} ${url.pathname}`) {
      case 'GET /noop':
        return { status: 'ok' };
      case 'GET /secret':
        return single(url.searchParams);
      case 'GET /secret-audited':
        return audited(url.searchParams, request.headers.authorization);
      case 'GET /secret-audited-unnamed':
        return audited(url.searchParams, request.headers.authorization, true);
      case 'GET /secret-merged':
        return merged(url.searchParams, request.headers.authorization, 'each');
      case 'GET /secret-merged-async-commit':
        return merged(url.searchParams, request.headers.authorization, 'async-commit');
      case 'GET /secret-merged-batched':
        return merged(url.searchParams, request.headers.authorization, 'batched');
      case 'GET /list':
        return list(url.searchParams);
      case 'POST /write':
        return write(url.searchParams, await readBody(request));
      default:
        throw new HttpError(404, 'no such route');
    }
  };

  const server = http.createServer((request, response) => {
    handle(request).then(
      (body) => {
        const json = JSON.stringify(body);
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        response.end(json);
      },
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        const json = JSON.stringify({ errors: [{ message: error instanceof HttpError ? error.message : 'internal error' }] });
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(json);
      },
    );
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get statements() {
      return statements;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
