import type { ValueOwner } from '../../crypto/envelope';

/*
 * A webhook's signing secret is sealed like a value (DESIGN §13: it must be
 * usable to sign, so it cannot be hashed), bound to its webhook. The name
 * starts with a control character, which no secret name may hold, so the
 * sealed bytes can never pass for a secret's value, nor the reverse.
 */
export const signingSecretOwner = (webhook: { id: string; environmentId: string; spaceId: string | null }): ValueOwner => ({
  secretId: webhook.id,
  environmentId: webhook.environmentId,
  spaceId: webhook.spaceId,
  name: '\u0000webhook signing secret',
  version: 1,
});
