import { createHash } from 'node:crypto';

import type { Queryable } from '../../db/statements';
import { Secret } from '../../entities';

export type { Queryable };

/*
 * Hand-written SQL for the secret table: these statements are the hot path
 * (every listener read) and the write path's locking protocol, so they are
 * explicit. Reads are given the prepared-statement runner (db/statements.ts).
 * Rows are hydrated by hand; TypeORM's generic hydration costs more per row
 * than the decryption that follows it.
 * UPDATE and DELETE are wrapped in a CTE so every statement returns plain rows.
 */

interface SecretRow {
  id: string;
  environment_id: string;
  space_id: string | null;
  name: string;
  version: number;
  key_version: number;
  wrapped_dek: Buffer;
  ciphertext: Buffer;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, environment_id, space_id, name, version, key_version, wrapped_dek, ciphertext, created_at, updated_at`;

export function nameDigest(name: string): Buffer {
  return createHash('sha256').update(name, 'utf8').digest();
}

function hydrate(row: SecretRow): Secret {
  const secret = new Secret();
  secret.id = row.id;
  secret.environmentId = row.environment_id;
  secret.spaceId = row.space_id;
  secret.name = row.name;
  secret.version = row.version;
  secret.keyVersion = row.key_version;
  secret.wrappedDek = row.wrapped_dek;
  secret.ciphertext = row.ciphertext;
  secret.createdAt = row.created_at;
  secret.updatedAt = row.updated_at;
  return secret;
}

/** Environment-level secrets of `environmentIds` and space-level secrets of `spaceIds`, in one statement. */
export async function findSecretsInPlacements(
  db: Queryable,
  environmentIds: readonly string[],
  spaceIds: readonly string[],
): Promise<Secret[]> {
  const rows: SecretRow[] = await db.query(
    `SELECT ${COLUMNS} FROM secret
      WHERE (space_id IS NULL AND environment_id = ANY($1::uuid[])) OR space_id = ANY($2::uuid[])`,
    [environmentIds, spaceIds],
  );
  return rows.map(hydrate);
}

export interface PlacementRow {
  environment_id: string;
  space_id: string | null;
  current_key_version: number;
}

/** A placement (a space with its environment, or an environment alone); undefined when the ids match nothing. */
export async function findPlacement(
  db: Queryable,
  environmentId: string | null,
  spaceId: string | null,
): Promise<PlacementRow | undefined> {
  const rows: PlacementRow[] = await db.query(FIND_PLACEMENT_SQL, [environmentId, spaceId]);
  return rows[0];
}

/**
 * A placement (a space with its environment, or an environment alone) and
 * the rows of one name in it, environment-level and space-level, in one
 * statement. `placement` is undefined when the ids match nothing.
 */
export async function findPlacementAndSecretsByName(
  db: Queryable,
  environmentId: string | null,
  spaceId: string | null,
  name: string,
): Promise<{ placement: PlacementRow | undefined; secrets: Secret[] }> {
  const rows: PlacedSecretRow[] = await db.query(FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL, [environmentId, spaceId, nameDigest(name)]);
  const { placement, secrets } = splitPlacementRows(rows);
  return { placement, secrets: secrets.filter((s) => s.name === name) };
}

/* $1 environment id, $2 space id: the space with its environment, or (without a space) the environment. */
const PLACEMENT_CTE = `placement AS (
  SELECT s.environment_id, s.id AS space_id, e.current_key_version
    FROM space s JOIN environment e ON e.id = s.environment_id WHERE s.id = $2::uuid
  UNION ALL
  SELECT e.id, NULL::uuid, e.current_key_version FROM environment e WHERE $2::uuid IS NULL AND e.id = $1::uuid)`;

export const FIND_PLACEMENT_SQL = `WITH ${PLACEMENT_CTE} SELECT * FROM placement`;

/** The placement's row beside each secret row of it (`filter` narrows the secrets, e.g. to one name). */
const placedSelect = (filter: string) => `WITH ${PLACEMENT_CTE}
  SELECT p.environment_id AS placement_environment_id, p.space_id AS placement_space_id,
         p.current_key_version AS placement_key_version, x.*
    FROM placement p
    LEFT JOIN LATERAL (
      SELECT ${COLUMNS} FROM secret WHERE ${filter} environment_id = p.environment_id AND space_id IS NULL
      UNION ALL
      SELECT ${COLUMNS} FROM secret WHERE ${filter} space_id = p.space_id) x ON true`;

/** $1 environment id, $2 space id, $3 name digest: a listener's read, in one statement. */
export const FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL = placedSelect(`name_digest = $3 AND`);
/** $1 environment id, $2 space id: an effective list, in one statement. */
export const FIND_PLACEMENT_AND_SECRETS_SQL = placedSelect('');

type PlacedSecretRow = SecretRow & { placement_environment_id: string; placement_space_id: string | null; placement_key_version: number };

function splitPlacementRows(rows: PlacedSecretRow[]): { placement: PlacementRow | undefined; secrets: Secret[] } {
  const first = rows[0];
  if (!first) return { placement: undefined, secrets: [] };
  return {
    placement: {
      environment_id: first.placement_environment_id,
      space_id: first.placement_space_id,
      current_key_version: first.placement_key_version,
    },
    secrets: rows.filter((r) => r.id !== null).map(hydrate),
  };
}

/**
 * A placement and every row of its effective list (the environment's rows
 * and, for a space, the space's rows) in one statement. `placement` is
 * undefined when the ids match nothing.
 */
export async function findPlacementAndSecrets(
  db: Queryable,
  environmentId: string | null,
  spaceId: string | null,
): Promise<{ placement: PlacementRow | undefined; secrets: Secret[] }> {
  const rows: PlacedSecretRow[] = await db.query(FIND_PLACEMENT_AND_SECRETS_SQL, [environmentId, spaceId]);
  return splitPlacementRows(rows);
}

/** $1 environment id, $2 name digest. */
export const LOCK_ENVIRONMENT_SECRET_SQL = `SELECT ${COLUMNS} FROM secret WHERE environment_id = $1 AND name_digest = $2 AND space_id IS NULL FOR UPDATE`;
/** $1 environment id, $2 name digest, $3 space id. */
export const LOCK_SPACE_SECRET_SQL = `SELECT ${COLUMNS} FROM secret WHERE space_id = $3 AND name_digest = $2 AND environment_id = $1 FOR UPDATE`;

/** Locks the row of (placement, name) for the rest of the transaction. */
export async function lockSecretForWrite(
  db: Queryable,
  environmentId: string,
  spaceId: string | null,
  name: string,
): Promise<Secret | undefined> {
  const rows: SecretRow[] = await db.query(
    spaceId === null ? LOCK_ENVIRONMENT_SECRET_SQL : LOCK_SPACE_SECRET_SQL,
    spaceId === null ? [environmentId, nameDigest(name)] : [environmentId, nameDigest(name), spaceId],
  );
  return rows[0] && hydrate(rows[0]);
}

export interface SealedSecretRow {
  readonly id: string;
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly name: string;
  readonly version: number;
  readonly keyVersion: number;
  readonly wrappedDek: Buffer;
  readonly ciphertext: Buffer;
}

/** $1 id, $2 environment id, $3 space id, $4 name, $5 name digest, $6 version, $7 key version, $8 wrapped DEK, $9 ciphertext. */
export const INSERT_SECRET_SQL = `INSERT INTO secret (id, environment_id, space_id, name, name_digest, version, key_version, wrapped_dek, ciphertext)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT DO NOTHING
     RETURNING ${COLUMNS}`;

/** Inserts a first version; undefined when a concurrent writer inserted the same name first. */
export async function insertSecret(db: Queryable, row: SealedSecretRow): Promise<Secret | undefined> {
  const rows: SecretRow[] = await db.query(
    INSERT_SECRET_SQL,
    [
      row.id,
      row.environmentId,
      row.spaceId,
      row.name,
      nameDigest(row.name),
      row.version,
      row.keyVersion,
      row.wrappedDek,
      row.ciphertext,
    ],
  );
  return rows[0] && hydrate(rows[0]);
}

/** $1 id, $2 version, $3 key version, $4 wrapped DEK, $5 ciphertext. */
export const UPDATE_SECRET_VALUE_SQL = `WITH updated AS (
       UPDATE secret SET version = $2, key_version = $3, wrapped_dek = $4, ciphertext = $5, updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS})
     SELECT * FROM updated`;

/** Replaces the sealed value of a row locked by lockSecretForWrite. */
export async function updateSecretValue(db: Queryable, row: SealedSecretRow): Promise<Secret> {
  const rows: SecretRow[] = await db.query(
    UPDATE_SECRET_VALUE_SQL,
    [row.id, row.version, row.keyVersion, row.wrappedDek, row.ciphertext],
  );
  return hydrate(rows[0]);
}

export async function deleteSecretById(db: Queryable, id: string): Promise<Secret | undefined> {
  const rows: SecretRow[] = await db.query(
    `WITH deleted AS (DELETE FROM secret WHERE id = $1 RETURNING ${COLUMNS}) SELECT * FROM deleted`,
    [id],
  );
  return rows[0] && hydrate(rows[0]);
}
