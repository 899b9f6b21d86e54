import type { AccessPolicy } from './access/access-policy';
import type { ReadAuditBuffer } from './audit/audit.service';
import type { Loaders } from './loaders';

/** What every resolver receives; built once per authenticated request. */
export interface Context {
  readonly access: AccessPolicy;
  /** Per-request batching; every loader applies the access policy. */
  readonly loaders: Loaders;
  /** Value reads of this request, written to the audit log before the response is sent. */
  readonly readAudit: ReadAuditBuffer;
}
