import { Initial1764403200000 } from './1764403200000-Initial';
import { AccessAndAudit1764489600000 } from './1764489600000-AccessAndAudit';
import { Sessions1764576000000 } from './1764576000000-Sessions';
import { AuditPartitions1764662400000 } from './1764662400000-AuditPartitions';
import { ChangeTopics1764700000000 } from './1764700000000-ChangeTopics';
import { VersionsAndActors1764748800000 } from './1764748800000-VersionsAndActors';
import { Webhooks1764835200000 } from './1764835200000-Webhooks';

/** In order. Listed explicitly so that compiled and ts-jest runs load the same classes. */
export const migrations = [Initial1764403200000, AccessAndAudit1764489600000, Sessions1764576000000, AuditPartitions1764662400000, ChangeTopics1764700000000, VersionsAndActors1764748800000, Webhooks1764835200000];
