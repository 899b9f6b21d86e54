import { Extensions } from 'type-graphql';

import type { Capability } from './access-policy';

/** The field extension under which a GraphQL field names the capability it needs. */
export const REQUIRES = 'requires';

/**
 * Declares the capability a GraphQL field needs, so that an operation the
 * caller may not run is refused before anything executes
 * (graphql/operation-guard.ts). The service behind the field asserts the same
 * capability through the same AccessPolicy; this is the early, whole-request
 * form of that check, not a second rule.
 */
export const Requires = (capability: Capability) => Extensions({ [REQUIRES]: capability });
