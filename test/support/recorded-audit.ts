import type { DataSource } from 'typeorm';

import type { Queryable } from '../../src/db/statements';
import { AuditService, READ_FIELDS } from '../../src/modules/audit/audit.service';

/** The secret names of an encoded read batch (encodeReads' tuples). */
export const readNamesIn = (param: unknown): string[] =>
  (JSON.parse(param as string) as unknown[][]).map((tuple) => tuple[READ_FIELDS.indexOf('secretName')] as string);

/** An AuditService whose read-audit statements are recorded, each as the secret names of its records, and succeed at once. */
export function recordedAuditService(): { audit: AuditService; statements: string[][] } {
  const statements: string[][] = [];
  const prepared = {
    query: async (_sql: string, params: unknown[]) => {
      statements.push(readNamesIn(params[0]));
      return [];
    },
  } as unknown as Queryable;
  return { audit: new AuditService({} as DataSource, prepared), statements };
}
