import { TokenRole } from '../../entities';
import { ForbiddenError } from '../../errors';
import { checkOptional, idSchema } from '../validation';
import type { PlacementArgs } from '../placement';

/** The authenticated caller of a request, or the system itself (CLI, start-up tasks). */
export interface Principal {
  /** null for the system caller. */
  readonly tokenId: string | null;
  readonly role: TokenRole;
  /** A LISTENER's binding; null for ADMIN. */
  readonly environmentId: string | null;
  readonly spaceId: string | null;
  /** When the token stops working; null or absent: never. */
  readonly expiresAt?: Date | null;
  /** For an admin UI session: the token that signed in. */
  readonly sessionOf?: string | null;
}

/**
 * What a caller may do, as a word a service, a GraphQL field and a route can
 * all name. A field or command declares the capability it needs; the policy
 * alone decides who has it.
 */
export enum Capability {
  /** Any authenticated caller: metadata inside its reach. */
  READ = 'READ',
  /** Decrypted values: LISTENER tokens only, inside their binding. */
  READ_VALUES = 'READ_VALUES',
  /** Environments, spaces, secrets (writes), tokens, webhooks, the audit log: ADMIN and the system. */
  MANAGE = 'MANAGE',
}

interface Placed {
  readonly environmentId: string;
  readonly spaceId: string | null;
}

const SYSTEM: Principal = Object.freeze({ tokenId: null, role: TokenRole.ADMIN, environmentId: null, spaceId: null });

/**
 * DESIGN §6 in one place. ADMIN manages every thing and reads no value.
 * A LISTENER sees its environment; bound to a space, it sees that space and
 * the environment-level rows every space of that environment inherits, never
 * a sibling space. It reads values only there, and writes nothing.
 *
 * Every service command takes the caller's policy as its first argument and
 * asserts the capability it needs before doing any work; GraphQL refuses an
 * operation up front through the same `allows` (graphql/operation-guard.ts).
 */
export class AccessPolicy {
  /** The CLI and start-up tasks: manages everything, reads no value, audited with no token. */
  static readonly system = new AccessPolicy(SYSTEM);

  constructor(readonly principal: Principal) {}

  get isAdmin(): boolean {
    return this.principal.role === TokenRole.ADMIN;
  }

  allows(capability: Capability): boolean {
    switch (capability) {
      case Capability.READ:
        return true;
      case Capability.READ_VALUES:
        return this.principal.role === TokenRole.LISTENER;
      case Capability.MANAGE:
        return this.principal.role === TokenRole.ADMIN;
    }
  }

  assert(capability: Capability): void {
    if (this.allows(capability)) return;
    throw new ForbiddenError(
      capability === Capability.READ_VALUES
        ? 'ADMIN tokens may write values but never read them'
        : 'this needs an ADMIN token',
    );
  }

  canSeeEnvironment(environmentId: string): boolean {
    return this.isAdmin || environmentId === this.principal.environmentId;
  }

  canSeeSpace(space: { id: string; environmentId: string }): boolean {
    if (this.isAdmin) return true;
    if (space.environmentId !== this.principal.environmentId) return false;
    return this.principal.spaceId === null || space.id === this.principal.spaceId;
  }

  /** Metadata of a secret row (or a placement): its environment, and its space if it has one. */
  canSee(placed: Placed): boolean {
    if (!this.canSeeEnvironment(placed.environmentId)) return false;
    return placed.spaceId === null || this.canSeeSpace({ id: placed.spaceId, environmentId: placed.environmentId });
  }

  /** A value of a secret row: READ_VALUES, and the row inside this token's reach. */
  assertReadsValue(secret: Placed): void {
    this.assert(Capability.READ_VALUES);
    if (!this.canSee(secret)) throw new ForbiddenError('outside this token’s reach');
  }

  /**
   * The placement arguments of a read, with a listener's binding applied:
   * they default to the binding, anything else is FORBIDDEN, and a
   * space-bound listener always resolves within its space.
   */
  bindArgs<T extends PlacementArgs>(args: T): T {
    if (this.isAdmin) return args;
    const environmentId = checkOptional(idSchema, 'environmentId', args.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', args.spaceId);
    const bound = this.principal;
    if (environmentId && environmentId !== bound.environmentId) throw new ForbiddenError('outside this token’s environment');
    if (bound.spaceId) {
      if (spaceId && spaceId !== bound.spaceId) throw new ForbiddenError('outside this token’s space');
      return { ...args, environmentId: bound.environmentId, spaceId: bound.spaceId };
    }
    return { ...args, environmentId: bound.environmentId, spaceId };
  }
}
