import { createCipheriv, createDecipheriv } from 'node:crypto';

import { DecryptionFailedError } from '../errors';
import { freshRandomBytes } from './random';

/*
 * The one AES-256-GCM primitive: a fresh 96-bit IV per seal, a 128-bit tag,
 * associated data always. Every layer (values, data keys, the local master
 * key's wraps) goes through these two functions.
 */

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** Encrypts under `key` bound to `aad`: [iv, ciphertext, tag]. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): [Buffer, Buffer, Buffer] {
  const iv = freshRandomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, body, cipher.getAuthTag()];
}

/** Reverses `seal`; any mismatch of key, bytes or associated data is DECRYPTION_FAILED. */
export function open(key: Buffer, iv: Buffer, body: Buffer, tag: Buffer, aad: Buffer): Buffer {
  let plaintext: Buffer | undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    plaintext = decipher.update(body);
    const rest = decipher.final(); // checks the tag; GCM is a stream mode, so nothing is held back
    if (rest.length === 0) return plaintext;
    const whole = Buffer.concat([plaintext, rest]);
    plaintext.fill(0);
    return whole;
  } catch {
    plaintext?.fill(0); // decrypted before the tag was checked: with the right key and other associated data, the real value
    throw new DecryptionFailedError();
  }
}

/** `iv | ciphertext | tag` in one buffer, as the local provider stores a wrapped key. */
export const sealToBuffer = (key: Buffer, plaintext: Buffer, aad: Buffer): Buffer => Buffer.concat(seal(key, plaintext, aad));

export function openFromBuffer(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length <= IV_BYTES + TAG_BYTES) throw new DecryptionFailedError();
  return open(
    key,
    sealed.subarray(0, IV_BYTES),
    sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES),
    sealed.subarray(sealed.length - TAG_BYTES),
    aad,
  );
}
