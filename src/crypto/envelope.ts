import { DecryptionFailedError, KeyProviderUnavailableError, isAppError } from '../errors';
import { IV_BYTES, KEY_BYTES, TAG_BYTES, open, seal } from './aes-gcm';
import type { CipherProvider, CipherProviderRegistry } from './provider';
import { freshRandomBytes } from './random';

export { KEY_BYTES };

/*
 * The envelope owns every invariant of DESIGN §5: IVs, associated data,
 * tag checks, blob layouts and zeroing of transient keys. Providers only wrap
 * and unwrap; callers only hand in owners and keys. See README.md here.
 */

export const ENVIRONMENT_KEY_FORMAT = 1;
export const DEK_FORMAT = 1;
export const VALUE_FORMAT = 1;

const DEK_HEADER_BYTES = 5; // format u8, environment-key version u32
const DEK_BLOB_BYTES = DEK_HEADER_BYTES + IV_BYTES + KEY_BYTES + TAG_BYTES;
const VALUE_HEADER_BYTES = 1; // format u8

/** Who a value belongs to; every field is bound into its ciphertext. */
export interface ValueOwner {
  readonly secretId: string;
  readonly environmentId: string;
  readonly spaceId: string | null;
  readonly name: string;
  readonly version: number;
}

export interface SealedValue {
  /** DEK wrapped by the environment key: format | env-key version | iv | ct | tag. */
  readonly wrappedDek: Buffer;
  /** The value under the DEK: format | iv | ct | tag. */
  readonly ciphertext: Buffer;
}

function needs(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DecryptionFailedError(message);
}

const partLength = (part: string | number | Buffer | null) =>
  part === null ? 0 : typeof part === 'number' ? 4 : typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.length;

/**
 * Length-prefixed associated data: a domain label, then each part, each as
 * `u32 length | bytes` (numbers as u32, null as empty). Built in one
 * allocation: this runs twice per decrypted value.
 */
export function associatedData(label: string, ...parts: (string | number | Buffer | null)[]): Buffer {
  let size = 4 + Buffer.byteLength(label, 'utf8');
  for (const part of parts) size += 4 + partLength(part);
  const out = Buffer.allocUnsafe(size);
  let offset = out.writeUInt32BE(Buffer.byteLength(label, 'utf8'), 0);
  offset += out.write(label, offset, 'utf8');
  for (const part of parts) {
    offset = out.writeUInt32BE(partLength(part), offset);
    if (part === null) continue;
    if (typeof part === 'number') offset = out.writeUInt32BE(part, offset);
    else if (typeof part === 'string') offset += out.write(part, offset, 'utf8');
    else offset += part.copy(out, offset);
  }
  return out;
}

export const environmentKeyAad = (environmentId: string, keyVersion: number) =>
  associatedData('secretspace/environment-key/v1', environmentId, keyVersion);

const dekAad = (header: Buffer, secretId: string, environmentId: string) =>
  associatedData('secretspace/dek/v1', header, secretId, environmentId);

const valueAad = (header: Buffer, owner: ValueOwner) =>
  associatedData(
    'secretspace/value/v1',
    header,
    owner.secretId,
    owner.environmentId,
    owner.spaceId,
    owner.name,
    owner.version,
  );

export function generateKey(): Buffer {
  return freshRandomBytes(KEY_BYTES);
}

/** The environment-key version a wrapped DEK names; checked before any key is fetched. */
export function dekKeyVersion(wrappedDek: Buffer): number {
  /* Precondition: a DEK blob has the one layout this format version defines. */
  needs(wrappedDek.length === DEK_BLOB_BYTES, 'wrapped data key has the wrong length');
  needs(wrappedDek[0] === DEK_FORMAT, 'wrapped data key has an unknown format');
  return wrappedDek.readUInt32BE(1);
}

function wrapDek(dek: Buffer, secretId: string, environmentId: string, envKey: Buffer, keyVersion: number): Buffer {
  const header = Buffer.alloc(DEK_HEADER_BYTES);
  header[0] = DEK_FORMAT;
  header.writeUInt32BE(keyVersion, 1);
  return Buffer.concat([header, ...seal(envKey, dek, dekAad(header, secretId, environmentId))]);
}

function unwrapDek(wrappedDek: Buffer, secretId: string, environmentId: string, envKey: Buffer): Buffer {
  dekKeyVersion(wrappedDek);
  const header = wrappedDek.subarray(0, DEK_HEADER_BYTES);
  const iv = wrappedDek.subarray(DEK_HEADER_BYTES, DEK_HEADER_BYTES + IV_BYTES);
  const body = wrappedDek.subarray(DEK_HEADER_BYTES + IV_BYTES, DEK_BLOB_BYTES - TAG_BYTES);
  const tag = wrappedDek.subarray(DEK_BLOB_BYTES - TAG_BYTES);
  return open(envKey, iv, body, tag, dekAad(header, secretId, environmentId));
}

/** Encrypts a value under a fresh DEK, itself wrapped by the environment key. */
export function sealValue(value: string, owner: ValueOwner, envKey: Buffer, envKeyVersion: number): SealedValue {
  /* Precondition: the environment key is a full AES-256 key. */
  if (envKey.length !== KEY_BYTES) throw new Error('environment key must be 32 bytes');
  const dek = generateKey();
  const plaintext = Buffer.from(value, 'utf8');
  try {
    const header = Buffer.of(VALUE_FORMAT);
    const ciphertext = Buffer.concat([header, ...seal(dek, plaintext, valueAad(header, owner))]);
    const wrappedDek = wrapDek(dek, owner.secretId, owner.environmentId, envKey, envKeyVersion);
    return { wrappedDek, ciphertext };
  } finally {
    dek.fill(0);
    plaintext.fill(0);
  }
}

/**
 * A value's DEK, unwrapped and checked against its owner (secret and
 * environment). The caller zeroes it after use, or hands it to a bounded
 * cache that zeroes it on eviction (keyring.ts).
 */
export function unwrapValueKey(sealed: SealedValue, owner: Pick<ValueOwner, 'secretId' | 'environmentId'>, envKey: Buffer): Buffer {
  return unwrapDek(sealed.wrappedDek, owner.secretId, owner.environmentId, envKey);
}

/** Decrypts a value under its unwrapped DEK; any mismatch of owner, key or bytes is DECRYPTION_FAILED. */
export function openValueWithKey(sealed: SealedValue, owner: ValueOwner, dek: Buffer): string {
  const { ciphertext } = sealed;
  needs(ciphertext.length >= VALUE_HEADER_BYTES + IV_BYTES + TAG_BYTES, 'ciphertext is truncated');
  needs(ciphertext[0] === VALUE_FORMAT, 'ciphertext has an unknown format');
  const header = ciphertext.subarray(0, VALUE_HEADER_BYTES);
  const iv = ciphertext.subarray(VALUE_HEADER_BYTES, VALUE_HEADER_BYTES + IV_BYTES);
  const body = ciphertext.subarray(VALUE_HEADER_BYTES + IV_BYTES, ciphertext.length - TAG_BYTES);
  const tag = ciphertext.subarray(ciphertext.length - TAG_BYTES);
  const plaintext = open(dek, iv, body, tag, valueAad(header, owner));
  try {
    return plaintext.toString('utf8');
  } finally {
    plaintext.fill(0);
  }
}

/** Decrypts a value; any mismatch of owner, key or bytes is DECRYPTION_FAILED, never a wrong value. */
export function openValue(sealed: SealedValue, owner: ValueOwner, envKey: Buffer): string {
  const dek = unwrapValueKey(sealed, owner, envKey);
  try {
    return openValueWithKey(sealed, owner, dek);
  } finally {
    dek.fill(0);
  }
}

/** Re-wraps a DEK under another environment key version; the value itself is never decrypted. */
export function rewrapDek(
  wrappedDek: Buffer,
  owner: Pick<ValueOwner, 'secretId' | 'environmentId'>,
  fromKey: Buffer,
  toKey: Buffer,
  toVersion: number,
): Buffer {
  const dek = unwrapDek(wrappedDek, owner.secretId, owner.environmentId, fromKey);
  try {
    return wrapDek(dek, owner.secretId, owner.environmentId, toKey, toVersion);
  } finally {
    dek.fill(0);
  }
}

export interface EnvironmentKeyBlob {
  readonly providerId: string;
  readonly keyRef: string;
  readonly wrapped: Buffer;
}

/** Layout: format u8 | provider-id length u8 | provider id | key-ref length u16 | key ref | wrapped key. */
export function encodeEnvironmentKeyBlob(blob: EnvironmentKeyBlob): Buffer {
  const provider = Buffer.from(blob.providerId, 'utf8');
  const keyRef = Buffer.from(blob.keyRef, 'utf8');
  if (provider.length === 0 || provider.length > 0xff) throw new Error('provider id length out of range');
  if (keyRef.length > 0xffff) throw new Error('key reference too long');
  const header = Buffer.alloc(4 + provider.length + keyRef.length);
  let offset = header.writeUInt8(ENVIRONMENT_KEY_FORMAT, 0);
  offset = header.writeUInt8(provider.length, offset);
  offset += provider.copy(header, offset);
  offset = header.writeUInt16BE(keyRef.length, offset);
  keyRef.copy(header, offset);
  return Buffer.concat([header, blob.wrapped]);
}

export function decodeEnvironmentKeyBlob(blob: Buffer): EnvironmentKeyBlob {
  needs(blob.length >= 4 && blob[0] === ENVIRONMENT_KEY_FORMAT, 'environment key blob has an unknown format');
  const providerLength = blob[1];
  const keyRefLengthAt = 2 + providerLength;
  needs(blob.length >= keyRefLengthAt + 2, 'environment key blob is truncated');
  const keyRefLength = blob.readUInt16BE(keyRefLengthAt);
  const wrappedAt = keyRefLengthAt + 2 + keyRefLength;
  needs(blob.length > wrappedAt, 'environment key blob is truncated');
  return {
    providerId: blob.subarray(2, keyRefLengthAt).toString('utf8'),
    keyRef: blob.subarray(keyRefLengthAt + 2, wrappedAt).toString('utf8'),
    wrapped: blob.subarray(wrappedAt),
  };
}

/** Provider failures that are not already typed become KEY_PROVIDER_UNAVAILABLE, with no detail. */
async function callProvider<T>(provider: CipherProvider, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new KeyProviderUnavailableError(provider.id);
  }
}

export interface WrappedEnvironmentKey {
  readonly blob: Buffer;
  readonly providerId: string;
  readonly keyRef: string;
}

export async function wrapEnvironmentKey(
  provider: CipherProvider,
  key: Buffer,
  environmentId: string,
  keyVersion: number,
): Promise<WrappedEnvironmentKey> {
  /* Precondition: only full AES-256 keys are ever wrapped. */
  if (key.length !== KEY_BYTES) throw new Error('environment key must be 32 bytes');
  const aad = environmentKeyAad(environmentId, keyVersion);
  const { wrapped, keyRef } = await callProvider(provider, () => provider.wrap(key, aad));
  const blob = encodeEnvironmentKeyBlob({ providerId: provider.id, keyRef, wrapped });
  return { blob, providerId: provider.id, keyRef };
}

export async function unwrapEnvironmentKey(
  registry: CipherProviderRegistry,
  blob: Buffer,
  environmentId: string,
  keyVersion: number,
): Promise<Buffer> {
  const { providerId, keyRef, wrapped } = decodeEnvironmentKeyBlob(blob);
  const provider = registry.get(providerId);
  const aad = environmentKeyAad(environmentId, keyVersion);
  const key = await callProvider(provider, () => provider.unwrap(wrapped, keyRef, aad));
  /* Postcondition: a provider never hands back anything but a full key. */
  needs(key.length === KEY_BYTES, 'unwrapped environment key has the wrong length');
  return key;
}
