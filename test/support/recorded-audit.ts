import type { DataSource } from 'typeorm';

import type { Queryable } from '../../src/db/statements';
import { AuditService } from '../../src/modules/audit/audit.service';

/** An AuditService whose read-audit statements are recorded, each as the secret names of its records, and succeed at once. */
export function recordedAuditService(): { audit: AuditService; statements: string[][] } {
  const statements: string[][] = [];
  const prepared = {
    query: async (_sql: string, params: unknown[]) => {
      statements.push((JSON.parse(params[0] as string) as { secretName: string }[]).map((r) => r.secretName));
      return [];
    },
  } as unknown as Queryable;
  return { audit: new AuditService({} as DataSource, prepared), statements };
}
