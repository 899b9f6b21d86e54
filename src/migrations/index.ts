import { Initial1764403200000 } from './1764403200000-Initial';

/** In order. Listed explicitly so that compiled and ts-jest runs load the same classes. */
export const migrations = [Initial1764403200000];
