import { Initial1764403200000 } from './1764403200000-Initial';
import { AccessAndAudit1764489600000 } from './1764489600000-AccessAndAudit';
import { AuditPartitions1764662400000 } from './1764662400000-AuditPartitions';

/** In order. Listed explicitly so that compiled and ts-jest runs load the same classes. */
export const migrations = [Initial1764403200000, AccessAndAudit1764489600000, AuditPartitions1764662400000];
