import type { AuthCheckerFn } from 'type-graphql';

import { Secret } from '../../entities';
import { ForbiddenError } from '../../errors';
import type { Context } from '../context';

/** The permission to decrypt: only a LISTENER, only inside its binding. */
export const READ_VALUE = 'READ_VALUE';

/**
 * type-graphql's authChecker: the one place roles are enforced.
 * `@Authorized()` needs any valid token (the request context already
 * refused requests without one), `@Authorized(TokenRole.ADMIN)` a role, and
 * `@Authorized(READ_VALUE)` on `value` fields checks the secret that would
 * be decrypted (the field's root) against the token's binding.
 */
export const authChecker: AuthCheckerFn<Context> = ({ root, context }, requirements) => {
  const { access } = context;
  if (requirements.includes(READ_VALUE)) {
    const secret: Secret = root instanceof Secret ? root : (root as { secret: Secret }).secret;
    if (access.isAdmin) throw new ForbiddenError('ADMIN tokens may write values but never read them');
    if (!access.canReadValue(secret)) throw new ForbiddenError('outside this token’s reach');
    return true;
  }
  if (requirements.length > 0 && !requirements.includes(access.principal.role)) {
    throw new ForbiddenError(`this needs a ${requirements.join(' or ')} token`);
  }
  return true;
};
