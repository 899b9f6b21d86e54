import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';

import { dekKeyVersion, openValue, sealValue } from '../src/crypto/envelope';
import type { EnvironmentKeyring } from '../src/crypto/keyring';
import { AuditAction, SecretScope } from '../src/entities';
import { LAST_USED_RESOLUTION_MS, TOKEN_LOOKUP_SQL, TOKEN_TOUCH_SQL } from '../src/modules/token/token.service';
import type { AuditRecord } from '../src/modules/audit/audit-record';
import { AUDIT_CHANGE_INSERT_SQL, AUDIT_READ_INSERT_SQL, encodeReads } from '../src/modules/audit/audit.service';
import {
  INSERT_SECRET_SQL,
  LOCK_ENVIRONMENT_SECRET_SQL,
  FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL,
  FIND_PLACEMENT_AND_SECRETS_SQL,
  FIND_PLACEMENT_SQL,
  UPDATE_SECRET_VALUE_SQL,
} from '../src/modules/secret/secret.repository';

/*
 * The floor for this stack: node:http, one pg Pool with named (prepared)
 * statements, the envelope's AES-GCM with the keyring's cached keys,
 * JSON.stringify. No framework, no validation beyond what the SQL needs, no
 * access rules. The SQL is the product's own text (imported from the
 * repository and services), so the baseline runs what the product runs,
 * one request at a time (no batching across requests).
 *
 *   GET  /secret?name=&environmentId=&spaceId=   scope and the name's rows (1 statement), space row wins, 1 value
 *   GET  /secret-audited?name=&spaceId=          the same as a listener's read costs it: token lookup (+ lastUsedAt
 *                                                once a minute), scope and rows, the audit row (3 statements)
 *   GET  /list?environmentId=&spaceId=           scope and every row (1 statement), overrides applied, all values
 *   POST /write?environmentId=&name=             body = value: the scope's key version, then in one transaction
 *                                                what SecretService.upsert does: lock, seal, insert or update,
 *                                                the audit row
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

/** A row of the scoped selects: the scope's columns beside each secret row (id null when the scope has none). */
type ScopedRow = { scope_environment_id: string; scope_space_id: string | null } & (SecretRow | { id: null });

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

const bearer = (authorization: string | undefined) => {
  const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new HttpError(401, 'no token');
  return token;
};

const prepared = (name: string, text: string, values: unknown[]): QueryConfig => ({ name: `bench_${name}`, text, values });

const sourceOf = (row: SecretRow) => (row.space_id === null ? SecretScope.ENVIRONMENT : SecretScope.SPACE);

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

export async function startBaselineServer(pool: Pool, keyring: Pick<EnvironmentKeyring, 'key'>): Promise<BaselineServer> {
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
  const secretRows = (rows: ScopedRow[]) => rows.filter((r): r is ScopedRow & SecretRow => r.id !== null);

  /** The space's row wins, else the environment's. */
  const pick = (rows: SecretRow[], name: string) => {
    const row = rows.find((r) => r.space_id !== null && r.name === name) ?? rows.find((r) => r.name === name);
    if (!row) throw new HttpError(404, 'no such secret');
    return row;
  };

  const single = async (query: URLSearchParams) => {
    const name = query.get('name') ?? '';
    const { rows } = await sql<ScopedRow>(pool, prepared('by_name', FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL, [query.get('environmentId'), query.get('spaceId'), digest(name), null]));
    const row = pick(secretRows(rows), name);
    return { data: { secret: { value: await reveal(row), source: sourceOf(row) } } };
  };

  /* A listener's read as the product's statements make it, each on its own: token, scope and rows, audit. */
  const audited = async (query: URLSearchParams, authorization: string | undefined) => {
    const tokens = await sql<{ id: string; environment_id: string; stale: boolean }>(
      pool,
      prepared('token', TOKEN_LOOKUP_SQL, [[digest(bearer(authorization))], LAST_USED_RESOLUTION_MS]),
    );
    const token = tokens.rows[0];
    if (!token) throw new HttpError(401, 'unknown token');
    if (token.stale) await sql(pool, prepared('token_touch', TOKEN_TOUCH_SQL, [[token.id]]));
    const name = query.get('name') ?? '';
    const { rows } = await sql<ScopedRow>(pool, prepared('by_name', FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL, [token.environment_id, query.get('spaceId'), digest(name), null]));
    if (!rows[0]) throw new HttpError(404, 'no such space');
    const row = pick(secretRows(rows), name);
    const value = await reveal(row);
    const source = sourceOf(row);
    const record: AuditRecord = {
      action: AuditAction.SECRET_READ,
      tokenId: token.id,
      environmentId: row.environment_id,
      spaceId: row.space_id,
      secretId: row.id,
      secretName: row.name,
      secretVersion: row.version,
      source,
    };
    await sql(pool, prepared('audit', AUDIT_READ_INSERT_SQL, [encodeReads([record])]));
    return { data: { secret: { value, source } } };
  };

  const list = async (query: URLSearchParams) => {
    const { rows } = await sql<ScopedRow>(pool, prepared('in_scope', FIND_PLACEMENT_AND_SECRETS_SQL, [query.get('environmentId'), query.get('spaceId'), null]));
    const byName = new Map<string, SecretRow>();
    const secrets = secretRows(rows);
    for (const row of secrets) if (row.space_id === null) byName.set(row.name, row);
    for (const row of secrets) if (row.space_id !== null) byName.set(row.name, row);
    const names = [...byName.keys()].sort();
    const data = [];
    for (const name of names) {
      const row = byName.get(name)!;
      data.push({ id: row.id, name, value: await reveal(row), environmentId: row.environment_id, spaceId: row.space_id });
    }
    return { data };
  };

  /*
   * SecretService.upsert's work for an environment-level name, statement for
   * statement: the scope's current key version before the transaction, then
   * lock, seal, update or insert (a lost insert race retries as an update),
   * the audit row, in one transaction: the same writes (the update also
   * archives the replaced version into history and prunes it), without the
   * product's reads for overrideStale and affectedSpaceIds.
   */
  const VERSIONS_KEPT = 20;
  const write = async (query: URLSearchParams, value: string) => {
    const environmentId = query.get('environmentId') ?? '';
    const name = query.get('name') ?? '';
    const nameDigest = digest(name);
    const client: PoolClient = await pool.connect();
    try {
      for (;;) {
        const { rows: scopes } = await sql<{ current_key_version: number }>(client, prepared('scope', FIND_PLACEMENT_SQL, [environmentId, null]));
        if (!scopes[0]) throw new HttpError(404, 'no such environment');
        const keyVersion = scopes[0].current_key_version;
        const key = await keyring.key(environmentId, keyVersion);
        await sql(client, 'BEGIN');
        // the product's lock statement also reads, unlocked, what the write will shadow
        const { rows } = await sql<SecretRow & { is_target: boolean }>(client, prepared('lock', LOCK_ENVIRONMENT_SECRET_SQL, [environmentId, nameDigest, null, null]));
        const existing = rows.find((row) => row.is_target);
        const owner = { secretId: existing?.id ?? randomUUID(), environmentId, spaceId: null, name, version: (existing?.version ?? 0) + 1 };
        const sealed = sealValue(value, owner, key, keyVersion);
        const { rows: saved } = existing
          ? await sql<SecretRow>(
              client,
              // the product's own statement: the replaced version moves to history, which is pruned
              prepared('update', UPDATE_SECRET_VALUE_SQL, [existing.id, owner.version, keyVersion, sealed.wrappedDek, sealed.ciphertext, null, null, null, null, VERSIONS_KEPT]),
            )
          : await sql<SecretRow>(
              client,
              prepared('insert', INSERT_SECRET_SQL, [
                owner.secretId, environmentId, null, null, name, nameDigest, owner.version, keyVersion, sealed.wrappedDek, sealed.ciphertext, null, null, null, null,
              ]),
            );
        if (!saved[0]) {
          await sql(client, 'ROLLBACK'); // a concurrent insert of the same name won: write again as an update
          continue;
        }
        const record: AuditRecord = {
          action: AuditAction.SECRET_WRITTEN,
          tokenId: null,
          environmentId,
          spaceId: null,
          secretId: saved[0].id,
          secretName: name,
          secretVersion: saved[0].version,
          source: SecretScope.ENVIRONMENT,
        };
        await sql(client, prepared('audit_change', AUDIT_CHANGE_INSERT_SQL, [JSON.stringify([record])]));
        await sql(client, 'COMMIT');
        return { data: { id: saved[0].id, version: saved[0].version } };
      }
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
      case 'GET /secret':
        return single(url.searchParams);
      case 'GET /secret-audited':
        return audited(url.searchParams, request.headers.authorization);
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
