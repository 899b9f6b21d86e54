import { Initial1764403200000 } from './1764403200000-Initial';
import { AccessAndAudit1764489600000 } from './1764489600000-AccessAndAudit';

/** In order. Listed explicitly so that compiled and ts-jest runs load the same classes. */
export const migrations = [Initial1764403200000, AccessAndAudit1764489600000];
