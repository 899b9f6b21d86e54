import { TokenRole } from '../../entities';
import { ForbiddenError } from '../../errors';
import type { ScopeArgs } from '../secret/secret.service';
import { checkOptional, idSchema } from '../validation';

/** The authenticated caller of a request. */
export interface Principal {
  readonly tokenId: string;
  readonly role: TokenRole;
  /** A LISTENER's binding; null for ADMIN. */
  readonly environmentId: string | null;
  readonly spaceId: string | null;
}

interface Placed {
  readonly environmentId: string;
  readonly spaceId: string | null;
}

/**
 * DESIGN §6 in one place. ADMIN sees every thing and reads no value.
 * A LISTENER sees its environment; bound to a space, it sees that space and
 * the environment-level rows every space of that environment inherits, never
 * a sibling space. It reads values only there, and writes nothing.
 */
export class AccessPolicy {
  constructor(readonly principal: Principal) {}

  get isAdmin(): boolean {
    return this.principal.role === TokenRole.ADMIN;
  }

  canSeeEnvironment(environmentId: string): boolean {
    return this.isAdmin || environmentId === this.principal.environmentId;
  }

  canSeeSpace(space: { id: string; environmentId: string }): boolean {
    if (this.isAdmin) return true;
    if (space.environmentId !== this.principal.environmentId) return false;
    return this.principal.spaceId === null || space.id === this.principal.spaceId;
  }

  /** Metadata of a secret row (or a scope): its environment, and its space if it has one. */
  canSee(placed: Placed): boolean {
    if (!this.canSeeEnvironment(placed.environmentId)) return false;
    return placed.spaceId === null || this.canSeeSpace({ id: placed.spaceId, environmentId: placed.environmentId });
  }

  /** Whether this token reads values at all: ADMIN tokens write values but never read them. */
  assertReadsValues(): void {
    if (this.isAdmin) throw new ForbiddenError('ADMIN tokens may write values but never read them');
  }

  canReadValue(secret: Placed): boolean {
    return this.principal.role === TokenRole.LISTENER && this.canSee(secret);
  }

  /**
   * The scope arguments of a read, with a listener's binding applied: they
   * default to the binding, anything else is FORBIDDEN, and a space-bound
   * listener always resolves within its space.
   */
  scopeArgs(args: ScopeArgs): ScopeArgs {
    if (this.isAdmin) return args;
    const environmentId = checkOptional(idSchema, 'environmentId', args.environmentId);
    const spaceId = checkOptional(idSchema, 'spaceId', args.spaceId);
    const bound = this.principal;
    if (environmentId && environmentId !== bound.environmentId) throw new ForbiddenError('outside this token’s environment');
    if (bound.spaceId) {
      if (spaceId && spaceId !== bound.spaceId) throw new ForbiddenError('outside this token’s space');
      return { environmentId: bound.environmentId, spaceId: bound.spaceId };
    }
    return { environmentId: bound.environmentId, spaceId };
  }
}
