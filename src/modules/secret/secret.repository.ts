import { createHash } from 'node:crypto';

import type { Queryable } from '../../db/statements';
import { Secret } from '../../entities';

export type { Queryable };

/*
 * Hand-written SQL for the secret tables: these statements are the hot path
 * (every listener read) and the write path's locking protocol, so they are
 * explicit. Reads are given the prepared-statement runner (db/statements.ts).
 * Rows are hydrated by hand; TypeORM's generic hydration costs more per row
 * than the decryption that follows it.
 *
 * `secret` holds each secret's current version, sealed value included;
 * `secret_version` the versions it replaced. Reads of the current value
 * touch only `secret`. A view's candidate rows are live (not deleted) and
 * shared, or personal to the view's actor ($actor null: shared only).
 * UPDATE and DELETE are wrapped in a CTE so every statement returns plain rows.
 */

interface SecretRow {
  id: string;
  environment_id: string;
  space_id: string | null;
  actor_id: string | null;
  name: string;
  version: number;
  key_version: number;
  wrapped_dek: Buffer;
  ciphertext: Buffer;
  deleted_at: Date | null;
  shadowed_id: string | null;
  shadowed_version: number | null;
  written_by: string | null;
  restored_from: number | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, environment_id, space_id, actor_id, name, version, key_version, wrapped_dek, ciphertext,
  deleted_at, shadowed_id, shadowed_version, written_by, restored_from, created_at, updated_at`;

export function nameDigest(name: string): Buffer {
  return createHash('sha256').update(name, 'utf8').digest();
}

function hydrate(row: SecretRow): Secret {
  const secret = new Secret();
  secret.id = row.id;
  secret.environmentId = row.environment_id;
  secret.spaceId = row.space_id;
  secret.actorId = row.actor_id;
  secret.name = row.name;
  secret.version = row.version;
  secret.keyVersion = row.key_version;
  secret.wrappedDek = row.wrapped_dek;
  secret.ciphertext = row.ciphertext;
  secret.deletedAt = row.deleted_at;
  secret.shadowedId = row.shadowed_id;
  secret.shadowedVersion = row.shadowed_version;
  secret.writtenBy = row.written_by;
  secret.restoredFrom = row.restored_from;
  secret.createdAt = row.created_at;
  secret.updatedAt = row.updated_at;
  return secret;
}

/** $n is the view's actor: shared rows, and that actor's own (none when null). */
const inView = (actor: string) => `deleted_at IS NULL AND (actor_id IS NULL OR actor_id = ${actor}::text)`;

/**
 * Live environment-level rows of `environmentIds` and space-level rows of
 * `spaceIds` in one statement: shared rows with the personal rows of
 * `actorId` (a view), or — `personal` — only personal rows, of one actor or
 * of all when `actorId` is null (personalSecrets).
 */
export async function findSecretsInPlacements(
  db: Queryable,
  environmentIds: readonly string[],
  spaceIds: readonly string[],
  actorId: string | null,
  personal = false,
): Promise<Secret[]> {
  const who = personal ? `deleted_at IS NULL AND actor_id IS NOT NULL AND ($3::text IS NULL OR actor_id = $3::text)` : inView('$3');
  const rows: SecretRow[] = await db.query(
    `SELECT ${COLUMNS} FROM secret
      WHERE ((space_id IS NULL AND environment_id = ANY($1::uuid[])) OR space_id = ANY($2::uuid[])) AND ${who}`,
    [environmentIds, spaceIds, actorId],
  );
  return rows.map(hydrate);
}

export interface PlacementRow {
  environment_id: string;
  space_id: string | null;
  current_key_version: number;
}

/* $1 environment id, $2 space id: the space with its environment, or (without a space) the environment. */
const PLACEMENT_CTE = `placement AS (
  SELECT s.environment_id, s.id AS space_id, e.current_key_version
    FROM space s JOIN environment e ON e.id = s.environment_id WHERE s.id = $2::uuid
  UNION ALL
  SELECT e.id, NULL::uuid, e.current_key_version FROM environment e WHERE $2::uuid IS NULL AND e.id = $1::uuid)`;

export const FIND_PLACEMENT_SQL = `WITH ${PLACEMENT_CTE} SELECT * FROM placement`;

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
 * The placement's row beside each candidate row of it. `filter` narrows the
 * rows (e.g. to one name); `actor` is the view's actor; `placement` the CTE
 * that names the placements, so the same select serves one read and a batch.
 */
const placedSelect = (filter: string, actor: string, placement = `WITH ${PLACEMENT_CTE}`, extra = '') => `${placement}
  SELECT ${extra}p.environment_id AS placement_environment_id, p.space_id AS placement_space_id,
         p.current_key_version AS placement_key_version, x.*
    FROM placement p
    LEFT JOIN LATERAL (
      SELECT ${COLUMNS} FROM secret
       WHERE ${filter} environment_id = p.environment_id AND space_id IS NULL AND ${inView(actor)}
      UNION ALL
      SELECT ${COLUMNS} FROM secret WHERE ${filter} space_id = p.space_id AND ${inView(actor)}) x ON true`;

/** $1 environment id, $2 space id, $3 name digest, $4 actor id: a listener's read, in one statement. */
export const FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL = placedSelect(`name_digest = $3 AND`, '$4');
/** $1 environment id, $2 space id, $3 actor id: an effective list, in one statement. */
export const FIND_PLACEMENT_AND_SECRETS_SQL = placedSelect('', '$3');
/**
 * Many listener reads in one statement: $1 environment ids, $2 space ids, $3
 * name digests, $4 actor ids; element i of each is read i + 1 (`ask`), and
 * is resolved as FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL resolves it alone.
 */
export const FIND_PLACEMENTS_AND_SECRETS_BY_NAMES_SQL = placedSelect(
  'name_digest = p.name_digest AND',
  'p.actor_id',
  `WITH ask AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bytea[], $4::text[]) WITH ORDINALITY AS a(environment_id, space_id, name_digest, actor_id, n)),
placement AS (
  SELECT a.n, a.name_digest, a.actor_id, s.environment_id, s.id AS space_id, e.current_key_version
    FROM ask a JOIN space s ON s.id = a.space_id JOIN environment e ON e.id = s.environment_id
  UNION ALL
  SELECT a.n, a.name_digest, a.actor_id, e.id, NULL::uuid, e.current_key_version
    FROM ask a JOIN environment e ON a.space_id IS NULL AND e.id = a.environment_id)`,
  'p.n AS ask, ',
);

/** One name as a view sees it: a placement (environment, space or both, as given) and an optional actor. */
export interface NameRead {
  readonly environmentId: string | null;
  readonly spaceId: string | null;
  readonly name: string;
  readonly actorId: string | null;
}

/** A placement row (undefined when the ids matched nothing) and the candidate rows found in it. */
export interface PlacedSecrets {
  readonly placement: PlacementRow | undefined;
  readonly secrets: Secret[];
}

type PlacedSecretRow = SecretRow & { placement_environment_id: string; placement_space_id: string | null; placement_key_version: number };

function splitPlacementRows(rows: PlacedSecretRow[]): PlacedSecrets {
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

/* Digests can collide: a candidate is one whose name is the name asked for. */
function placedByName(rows: PlacedSecretRow[], name: string): PlacedSecrets {
  const { placement, secrets } = splitPlacementRows(rows);
  return { placement, secrets: secrets.filter((s) => s.name === name) };
}

/**
 * A placement (a space with its environment, or an environment alone) and
 * the candidate rows of one name in it — environment-level and space-level,
 * shared and the actor's own — in one statement. `placement` is undefined
 * when the ids match nothing.
 */
export async function findPlacementAndSecretsByName(db: Queryable, read: NameRead): Promise<PlacedSecrets> {
  const rows: PlacedSecretRow[] = await db.query(FIND_PLACEMENT_AND_SECRETS_BY_NAME_SQL, [
    read.environmentId,
    read.spaceId,
    nameDigest(read.name),
    read.actorId,
  ]);
  return placedByName(rows, read.name);
}

/** What findPlacementAndSecretsByName finds for each read, for all of them in one statement. */
export async function findPlacementsAndSecretsByNames(db: Queryable, reads: readonly NameRead[]): Promise<PlacedSecrets[]> {
  const rows: (PlacedSecretRow & { ask: string })[] = await db.query(FIND_PLACEMENTS_AND_SECRETS_BY_NAMES_SQL, [
    reads.map((r) => r.environmentId),
    reads.map((r) => r.spaceId),
    reads.map((r) => nameDigest(r.name)),
    reads.map((r) => r.actorId),
  ]);
  const asked = reads.map((): PlacedSecretRow[] => []);
  for (const row of rows) asked[Number(row.ask) - 1].push(row);
  return asked.map((placed, i) => placedByName(placed, reads[i].name));
}

/**
 * A placement and every candidate row of its effective list (the
 * environment's rows and, for a space, the space's rows; shared and the
 * actor's own) in one statement. `placement` is undefined when the ids match
 * nothing.
 */
export async function findPlacementAndSecrets(
  db: Queryable,
  environmentId: string | null,
  spaceId: string | null,
  actorId: string | null,
): Promise<PlacedSecrets> {
  const rows: PlacedSecretRow[] = await db.query(FIND_PLACEMENT_AND_SECRETS_SQL, [environmentId, spaceId, actorId]);
  return splitPlacementRows(rows);
}

/*
 * A write's first statement: the row of one (placement, actor, name) — live
 * or deleted — locked, and beside it, unlocked, the other live candidates of
 * that name in the same placement for the same actor (what the write will
 * shadow, for overrideStale). One statement per partial unique index.
 * $1 environment id, $2 name digest, $3 space id (or null), $4 actor id (or null).
 */
const lockWithCandidates = (target: string) => `WITH target AS (
    SELECT ${COLUMNS} FROM secret WHERE ${target} AND name_digest = $2 FOR UPDATE)
  SELECT true AS is_target, * FROM target
  UNION ALL
  SELECT false, ${COLUMNS} FROM secret
   WHERE name_digest = $2 AND ((environment_id = $1 AND space_id IS NULL) OR space_id = $3::uuid) AND ${inView('$4')}
     AND id NOT IN (SELECT id FROM target)`;

export const LOCK_ENVIRONMENT_SECRET_SQL = lockWithCandidates(`environment_id = $1 AND space_id IS NULL AND actor_id IS NULL AND $3::uuid IS NULL AND $4::text IS NULL`);
export const LOCK_SPACE_SECRET_SQL = lockWithCandidates(`space_id = $3::uuid AND environment_id = $1 AND actor_id IS NULL AND $4::text IS NULL`);
export const LOCK_ENVIRONMENT_PERSONAL_SECRET_SQL = lockWithCandidates(`environment_id = $1 AND space_id IS NULL AND actor_id = $4::text AND $3::uuid IS NULL`);
export const LOCK_SPACE_PERSONAL_SECRET_SQL = lockWithCandidates(`space_id = $3::uuid AND environment_id = $1 AND actor_id = $4::text`);

/**
 * Locks the row of (placement, actor, name) — live or deleted — for the rest
 * of the transaction, and reads the other candidates a write there shadows.
 */
export async function lockSecretForWrite(
  db: Queryable,
  environmentId: string,
  spaceId: string | null,
  actorId: string | null,
  name: string,
): Promise<{ existing: Secret | undefined; candidates: Secret[] }> {
  const sql =
    spaceId === null
      ? actorId === null
        ? LOCK_ENVIRONMENT_SECRET_SQL
        : LOCK_ENVIRONMENT_PERSONAL_SECRET_SQL
      : actorId === null
        ? LOCK_SPACE_SECRET_SQL
        : LOCK_SPACE_PERSONAL_SECRET_SQL;
  const rows: (SecretRow & { is_target: boolean })[] = await db.query(sql, [environmentId, nameDigest(name), spaceId, actorId]);
  const target = rows.find((r) => r.is_target);
  return { existing: target && hydrate(target), candidates: rows.filter((r) => !r.is_target && r.name === name).map(hydrate) };
}

/** A secret row by id, live or deleted, without a lock. */
export async function findSecretById(db: Queryable, id: string): Promise<Secret | undefined> {
  const rows: SecretRow[] = await db.query(`SELECT ${COLUMNS} FROM secret WHERE id = $1`, [id]);
  return rows[0] && hydrate(rows[0]);
}

/*
 * Returned by every statement that changes a secret: the spaces whose
 * effective value of its name follows that row (DESIGN §12's
 * affectedSpaceIds) — its own space for a space-level row; for an
 * environment-level row every space of the environment without a live
 * space-level row of its own for that name and kind. Computed in the change's
 * own statement, however many spaces.
 */
const AFFECTED = (row: string) => `CASE WHEN ${row}.space_id IS NOT NULL THEN ARRAY[${row}.space_id] ELSE (
    SELECT coalesce(array_agg(sp.id ORDER BY sp.id), '{}') FROM space sp
     WHERE sp.environment_id = ${row}.environment_id
       AND NOT EXISTS (SELECT 1 FROM secret o WHERE o.space_id = sp.id AND o.name_digest = ${row}.name_digest
                          AND o.deleted_at IS NULL AND o.actor_id IS NOT DISTINCT FROM ${row}.actor_id)) END AS affected_space_ids`;

/** A secret as a change left it, with the spaces that change reaches. */
export interface ChangedSecret {
  readonly secret: Secret;
  readonly affectedSpaceIds: string[];
}

type ChangedRow = SecretRow & { affected_space_ids: string[] };
const changed = (row: ChangedRow): ChangedSecret => ({ secret: hydrate(row), affectedSpaceIds: row.affected_space_ids });

/** What a write stores as the new current version. */
export interface SealedSecretRow {
  readonly id: string;
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly actorId: string | null;
  readonly name: string;
  readonly version: number;
  readonly keyVersion: number;
  readonly wrappedDek: Buffer;
  readonly ciphertext: Buffer;
  readonly shadowedId: string | null;
  readonly shadowedVersion: number | null;
  readonly writtenBy: string | null;
  readonly restoredFrom: number | null;
}

/** $1 id, $2 environment id, $3 space id, $4 actor id, $5 name, $6 name digest, $7 version, $8 key version, $9 wrapped DEK, $10 ciphertext, $11 shadowed id, $12 shadowed version, $13 written by, $14 restored from. */
export const INSERT_SECRET_SQL = `INSERT INTO secret (id, environment_id, space_id, actor_id, name, name_digest, version, key_version,
       wrapped_dek, ciphertext, shadowed_id, shadowed_version, written_by, restored_from)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT DO NOTHING
     RETURNING ${COLUMNS}, ${AFFECTED('secret')}`;

/** Inserts a first version; undefined when a concurrent writer inserted the same name first. */
export async function insertSecret(db: Queryable, row: SealedSecretRow): Promise<ChangedSecret | undefined> {
  const rows: ChangedRow[] = await db.query(INSERT_SECRET_SQL, [
    row.id,
    row.environmentId,
    row.spaceId,
    row.actorId,
    row.name,
    nameDigest(row.name),
    row.version,
    row.keyVersion,
    row.wrappedDek,
    row.ciphertext,
    row.shadowedId,
    row.shadowedVersion,
    row.writtenBy,
    row.restoredFrom,
  ]);
  return rows[0] && changed(rows[0]);
}

/**
 * $1 id, $2 version, $3 key version, $4 wrapped DEK, $5 ciphertext, $6 shadowed id, $7 shadowed version,
 * $8 written by, $9 restored from, $10 versions kept. Moves the current version into secret_version, makes
 * the new one current (reviving a deleted row), and prunes history to the newest $10 versions in all —
 * one statement, in the write's own transaction.
 */
export const UPDATE_SECRET_VALUE_SQL = `WITH archived AS (
       INSERT INTO secret_version (secret_id, version, environment_id, key_version, wrapped_dek, ciphertext, created_at, written_by, restored_from)
       SELECT id, version, environment_id, key_version, wrapped_dek, ciphertext, updated_at, written_by, restored_from
         FROM secret WHERE id = $1 AND $10::int > 1
       RETURNING 1),
     pruned AS (DELETE FROM secret_version WHERE secret_id = $1 AND version <= $2::int - $10::int RETURNING 1),
     updated AS (
       UPDATE secret SET version = $2, key_version = $3, wrapped_dek = $4, ciphertext = $5, shadowed_id = $6, shadowed_version = $7,
              written_by = $8, restored_from = $9, deleted_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}, ${AFFECTED('secret')})
     SELECT updated.* FROM updated`;

/** Replaces the current version of a row locked by lockSecretForWrite/lockSecretById, keeping `kept` versions in all. */
export async function updateSecretValue(db: Queryable, row: SealedSecretRow, kept: number): Promise<ChangedSecret> {
  const rows: ChangedRow[] = await db.query(UPDATE_SECRET_VALUE_SQL, [
    row.id,
    row.version,
    row.keyVersion,
    row.wrappedDek,
    row.ciphertext,
    row.shadowedId,
    row.shadowedVersion,
    row.writtenBy,
    row.restoredFrom,
    kept,
  ]);
  return changed(rows[0]);
}

/** Takes a live secret out of resolution, keeping its row and versions; undefined when it is not live. */
export async function softDeleteSecret(db: Queryable, id: string): Promise<ChangedSecret | undefined> {
  const rows: ChangedRow[] = await db.query(
    `WITH deleted AS (
       UPDATE secret SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}, ${AFFECTED('secret')})
     SELECT * FROM deleted`,
    [id],
  );
  return rows[0] && changed(rows[0]);
}

/** Removes a secret and every version of it; undefined when there is none. */
export async function destroySecretById(db: Queryable, id: string): Promise<ChangedSecret | undefined> {
  const rows: ChangedRow[] = await db.query(
    `WITH gone AS (DELETE FROM secret WHERE id = $1 RETURNING ${COLUMNS}, ${AFFECTED('secret')}) SELECT * FROM gone`,
    [id],
  );
  return rows[0] && changed(rows[0]);
}

/** Destroys up to `limit` secrets deleted more than `days` ago; rows another transaction holds are left for later. */
export async function purgeDeletedSecrets(db: Queryable, days: number, limit: number): Promise<Secret[]> {
  const rows: SecretRow[] = await db.query(
    `WITH due AS (
       SELECT id FROM secret WHERE deleted_at < now() - $1::int * interval '1 day'
        ORDER BY deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED),
     gone AS (DELETE FROM secret s USING due WHERE s.id = due.id RETURNING s.*)
     SELECT ${COLUMNS} FROM gone`,
    [days, limit],
  );
  return rows.map(hydrate);
}

/** Deleted secrets of an environment (its own, not its spaces') or of one space, newest deletion first. */
export async function findDeletedSecrets(db: Queryable, environmentId: string, spaceId: string | null): Promise<Secret[]> {
  const rows: SecretRow[] = await db.query(
    `SELECT ${COLUMNS} FROM secret
      WHERE environment_id = $1 AND space_id IS NOT DISTINCT FROM $2::uuid AND deleted_at IS NOT NULL
      ORDER BY deleted_at DESC, id`,
    [environmentId, spaceId],
  );
  return rows.map(hydrate);
}

/** One retained version of a secret, sealed, with who wrote it and what it copied. */
export interface VersionRow {
  readonly secret_id: string;
  readonly version: number;
  readonly key_version: number;
  readonly wrapped_dek: Buffer;
  readonly ciphertext: Buffer;
  readonly created_at: Date;
  readonly written_by: string | null;
  readonly restored_from: number | null;
}

const VERSIONS = `SELECT id AS secret_id, version, key_version, wrapped_dek, ciphertext, updated_at AS created_at, written_by, restored_from
    FROM secret WHERE id = ANY($1::uuid[])
  UNION ALL
  SELECT secret_id, version, key_version, wrapped_dek, ciphertext, created_at, written_by, restored_from
    FROM secret_version WHERE secret_id = ANY($1::uuid[])`;

/**
 * $1 secret ids, $2 versions below this (a cursor) or null, $3 how many per secret: the newest retained
 * versions of several secrets, current included, in one statement.
 */
export const FIND_VERSIONS_SQL = `SELECT * FROM (
    SELECT v.*, row_number() OVER (PARTITION BY v.secret_id ORDER BY v.version DESC) AS n
      FROM (${VERSIONS}) v WHERE $2::int IS NULL OR v.version < $2::int) x
  WHERE x.n <= $3 ORDER BY x.secret_id, x.version DESC`;

/** A retained version as the row it was: the secret's identity with that version's sealed value and metadata. */
export function versionAsSecret(secret: Secret, row: VersionRow): Secret {
  const version = Object.assign(new Secret(), secret);
  version.version = row.version;
  version.keyVersion = row.key_version;
  version.wrappedDek = row.wrapped_dek;
  version.ciphertext = row.ciphertext;
  version.updatedAt = row.created_at;
  version.writtenBy = row.written_by;
  version.restoredFrom = row.restored_from;
  return version;
}

export async function findVersions(db: Queryable, secretIds: readonly string[], below: number | null, count: number): Promise<VersionRow[]> {
  return db.query(FIND_VERSIONS_SQL, [secretIds, below, count]);
}

/** One retained version (the current one included); undefined when it was pruned or never existed. */
export async function findVersion(db: Queryable, secretId: string, version: number): Promise<VersionRow | undefined> {
  const rows: VersionRow[] = await db.query(`SELECT * FROM (${VERSIONS}) v WHERE v.version = $2`, [[secretId], version]);
  return rows[0];
}
