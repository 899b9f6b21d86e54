import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';

import { openValue, sealValue, type SealedValue, type ValueOwner } from '../../src/crypto/envelope';

/*
 * What one value's decryption costs in this process, outside any server:
 * src/crypto/envelope.ts's openValue, against a variant that does the same
 * checks and the same two AES-256-GCM decryptions with fewer allocations
 * (associated data written into one buffer; no Buffer.concat of GCM's empty
 * final block), and against the bare cost of the two decipher objects.
 * The variant lives here only to measure the candidate; it is checked to
 * return what openValue returns.
 */

const IV = 12;
const TAG = 16;
const DEK_HEADER = 5;
const DEK_BLOB = DEK_HEADER + IV + 32 + TAG;

type Part = string | number | Buffer | null;

/** The same bytes as envelope.associatedData, in one allocation. */
function associatedDataLean(label: string, parts: readonly Part[]): Buffer {
  let size = 4 + Buffer.byteLength(label, 'utf8');
  for (const part of parts) size += 4 + (part === null ? 0 : typeof part === 'number' ? 4 : typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.length);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const put = (part: Part) => {
    if (part === null) at = out.writeUInt32BE(0, at);
    else if (typeof part === 'number') {
      at = out.writeUInt32BE(4, at);
      at = out.writeUInt32BE(part, at);
    } else if (typeof part === 'string') {
      const length = out.write(part, at + 4, 'utf8');
      out.writeUInt32BE(length, at);
      at += 4 + length;
    } else {
      at = out.writeUInt32BE(part.length, at);
      at += part.copy(out, at);
    }
  };
  put(label);
  for (const part of parts) put(part);
  return out;
}

function openLean(key: Buffer, iv: Buffer, body: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(body);
  const last = decipher.final();
  return last.length ? Buffer.concat([plaintext, last]) : plaintext;
}

export function openValueLean(sealed: SealedValue, owner: ValueOwner, envKey: Buffer): string {
  const { wrappedDek, ciphertext } = sealed;
  if (wrappedDek.length !== DEK_BLOB || wrappedDek[0] !== 1 || ciphertext.length < 1 + IV + TAG || ciphertext[0] !== 1) throw new Error('bad blob');
  const dekAad = associatedDataLean('secretspace/dek/v1', [wrappedDek.subarray(0, DEK_HEADER), owner.secretId, owner.environmentId]);
  const dek = openLean(envKey, wrappedDek.subarray(DEK_HEADER, DEK_HEADER + IV), wrappedDek.subarray(DEK_HEADER + IV, DEK_BLOB - TAG), wrappedDek.subarray(DEK_BLOB - TAG), dekAad);
  try {
    const valueAad = associatedDataLean('secretspace/value/v1', [ciphertext.subarray(0, 1), owner.secretId, owner.environmentId, owner.spaceId, owner.name, owner.version]);
    const plaintext = openLean(dek, ciphertext.subarray(1, 1 + IV), ciphertext.subarray(1 + IV, ciphertext.length - TAG), ciphertext.subarray(ciphertext.length - TAG), valueAad);
    try {
      return plaintext.toString('utf8');
    } finally {
      plaintext.fill(0);
    }
  } finally {
    dek.fill(0);
  }
}

export interface DecryptMicroResult {
  readonly values: number;
  /** CPU µs per value (user + system), best of the rounds. */
  readonly openValueUs: number;
  readonly leanUs: number;
  /** Two createDecipheriv + setAAD + setAuthTag + update + final, nothing else: the AES-GCM floor per value. */
  readonly twoDeciphersUs: number;
  /** One: what a value would cost if unwrapped data keys were cached. */
  readonly oneDecipherUs: number;
}

function cpuPerCall(calls: number, run: () => void): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) run();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / calls);
  }
  return best;
}

export function decryptMicro(values = 20_000): DecryptMicroResult {
  const envKey = randomBytes(32);
  const owners: ValueOwner[] = Array.from({ length: 256 }, (_, i) => ({
    secretId: randomUUID(),
    environmentId: randomUUID(),
    spaceId: i % 10 === 0 ? randomUUID() : null,
    name: `SECRET_${String(i).padStart(4, '0')}`,
    version: 1,
  }));
  const sealed = owners.map((owner) => sealValue(`value of ${owner.name} in ${owner.environmentId}`, owner, envKey, 1));
  for (let i = 0; i < owners.length; i++) {
    if (openValueLean(sealed[i], owners[i], envKey) !== openValue(sealed[i], owners[i], envKey)) throw new Error('lean variant disagrees with openValue');
  }
  let i = 0;
  const next = () => (i = (i + 1) % owners.length);
  const iv = randomBytes(IV);
  const aad = randomBytes(120);
  const cipher = createCipheriv('aes-256-gcm', envKey, iv, { authTagLength: TAG });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(randomBytes(60)), cipher.final()]);
  const tag = cipher.getAuthTag();
  const bareOpen = () => {
    const decipher = createDecipheriv('aes-256-gcm', envKey, iv, { authTagLength: TAG });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    decipher.update(body);
    decipher.final();
  };
  return {
    values,
    openValueUs: cpuPerCall(values, () => openValue(sealed[next()], owners[i], envKey)),
    leanUs: cpuPerCall(values, () => openValueLean(sealed[next()], owners[i], envKey)),
    twoDeciphersUs: cpuPerCall(values, () => {
      bareOpen();
      bareOpen();
    }),
    oneDecipherUs: cpuPerCall(values, bareOpen),
  };
}
