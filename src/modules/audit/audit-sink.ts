import path from 'node:path';

import { createStream, type RotatingFileStream } from 'rotating-file-stream';

import type { AuditConfig } from '../../config';
import type { Logger } from '../../logger';

/**
 * The columns of an audit_event row as a sink line carries them (every
 * column, camelCase; seq and xid as strings). A RETURNING list, so a line is
 * exactly what was committed.
 */
export const SINK_COLUMNS = `seq::text AS seq, id, at, action, token_id AS "tokenId", environment_id AS "environmentId",
  space_id AS "spaceId", actor_id AS "actorId", secret_id AS "secretId", secret_name AS "secretName",
  secret_version AS "secretVersion", source, subject_token_id AS "subjectTokenId", webhook_id AS "webhookId",
  xid::text AS xid, affected_space_ids AS "affectedSpaceIds", topic, count, first_at AS "firstAt", last_at AS "lastAt"`;

export type AuditSinkRow = Record<string, unknown>;

/**
 * Every committed audit record, one JSON line each, for a log pipeline or a
 * SIEM. The database stays the source of truth: nothing waits for a line to
 * be written, and a line buffered when the process dies is lost (the row is
 * not). Lines are written in the order this instance learned of each commit.
 */
export interface AuditSink {
  write(rows: readonly AuditSinkRow[]): void;
  close(): Promise<void>;
}

export function openAuditSink(config: AuditConfig['sink'], logger: Logger): AuditSink | undefined {
  if (!config) return undefined;
  if (config.kind === 'stdout') {
    // process.stdout is synchronous for files and pipes on Linux: a line is never split by a log line
    return { write: (rows) => void process.stdout.write(lines(rows)), close: async () => undefined };
  }
  return fileSink(config, logger);
}

function lines(rows: readonly AuditSinkRow[]): string {
  let out = '';
  for (const row of rows) out += `${JSON.stringify(row)}\n`;
  return out;
}

/* Size-based rotation by rotating-file-stream: the file is renamed aside and a new one opened, keeping maxFiles. */
function fileSink(config: Extract<NonNullable<AuditConfig['sink']>, { kind: 'file' }>, logger: Logger): AuditSink {
  const stream: RotatingFileStream = createStream(path.basename(config.path), {
    path: path.dirname(config.path),
    size: config.rotateSize as `${number}M`,
    maxFiles: config.maxFiles,
    mode: 0o600,
  });
  let failed = false;
  stream.on('error', (error: Error) => {
    if (!failed) logger.error({ err: { message: error.message }, file: config.path }, 'audit sink cannot write; the database keeps every record');
    failed = true;
  });
  return {
    write: (rows) => {
      if (rows.length) stream.write(lines(rows));
    },
    close: () =>
      new Promise<void>((resolve) => {
        stream.once('finish', () => resolve());
        stream.once('error', () => resolve());
        stream.end();
      }),
  };
}
