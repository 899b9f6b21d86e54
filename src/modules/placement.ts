/*
 * A placement is where a secret lives or where a read resolves: an
 * environment, optionally one of its spaces (and, for personal secrets, an
 * actor). "Scope" is kept for the ENVIRONMENT/SPACE level of a row
 * (SecretScope); this is the (environmentId, spaceId) pair itself.
 */

/** A checked placement: a space implies its environment. */
export interface Placement {
  readonly environmentId: string;
  readonly spaceId: string | null;
}

/** Placement arguments as a client sent them, not yet validated. */
export interface PlacementArgs {
  readonly environmentId?: unknown;
  readonly spaceId?: unknown;
}

/** A placement as found in the database, with the environment-key version new writes use. */
export type CheckedPlacement = Placement & { readonly currentKeyVersion: number };

export const placementKey = (placement: Placement) => `${placement.environmentId}/${placement.spaceId ?? ''}`;
