import type { AuthCheckerFn } from 'type-graphql';

import { ForbiddenError } from '../../errors';
import type { Context } from '../context';

/**
 * type-graphql's authChecker: the one place roles are enforced.
 * `@Authorized()` needs any valid token (the request context already
 * refused requests without one) and `@Authorized(TokenRole.ADMIN)` a role.
 * The field-level check for values lives in the one function that decrypts
 * for a request, SecretService.reveal, so GraphQL and REST share it; a
 * middleware per value field measurably cost allocations on long lists.
 */
export const authChecker: AuthCheckerFn<Context> = ({ context }, requirements) => {
  const { access } = context;
  if (requirements.length > 0 && !requirements.includes(access.principal.role)) {
    throw new ForbiddenError(`this needs a ${requirements.join(' or ')} token`);
  }
  return true;
};
