import { crc32c } from '@aws-crypto/crc32c';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { CallOptions } from 'google-gax';
import type { Logger } from '../../logger';

import { GCP_KMS_CRYPTO_KEY } from '../../config';
import { DecryptionFailedError, KeyProviderUnavailableError, isAppError } from '../../errors';
import type { CipherProvider } from '../provider';
import type { ProviderFactory } from './factory';

const PROVIDER_ID = 'gcp-kms';
const CRYPTO_KEY_NAME = new RegExp(`^${GCP_KMS_CRYPTO_KEY}$`);
/** Captures the CryptoKey a CryptoKeyVersion name belongs to. */
const KEY_VERSION_NAME = new RegExp(`^(${GCP_KMS_CRYPTO_KEY})/cryptoKeyVersions/[0-9]+$`);
const READINESS_PLAINTEXT = Buffer.from('secretspace readiness probe');
const READINESS_AAD = Buffer.from('secretspace/gcp-kms/readiness');

/* gRPC status codes are part of the wire protocol; naming them here keeps the client library lazily loaded. */
const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;
const Status = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14 } as const;

export interface GcpKmsProviderOptions {
  /** The CryptoKey new wraps go to: projects/P/locations/L/keyRings/R/cryptoKeys/K. */
  readonly keyName: string;
  /** host:port of a plaintext-gRPC emulator; unset means Google's endpoint with default credentials. */
  readonly endpoint?: string;
  readonly logger?: Pick<Logger, 'warn'>;
  /** Attempts per call, including the first. */
  readonly maxAttempts?: number;
  /** Deadline of one attempt. */
  readonly attemptTimeoutMs?: number;
  /** Deadline of a call, across its attempts and backoffs. */
  readonly totalTimeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Deadline of the readiness probe, and how long its outcome is reused. */
  readonly checkTimeoutMs?: number;
  readonly checkCacheMs?: number;
}

/** The response failed its integrity check; KMS itself is fine, so the call is worth repeating. */
class ChecksumMismatch extends Error {}

/** A response that verified but does not fit the request; repeating it will not help. */
class UnexpectedResponse extends Error {}

/**
 * Wraps keys with Cloud KMS Encrypt/Decrypt on one CryptoKey. Every call
 * carries CRC32C checksums both ways and the caller's AAD; the retry policy
 * is ours (gax's own is switched off per call), so a call's worst case is
 * `totalTimeoutMs` and a dead KMS is reported, not waited on for minutes.
 */
export function createGcpKmsProvider(options: GcpKmsProviderOptions): CipherProvider {
  /* Precondition: new wraps go to a CryptoKey, never to a fixed version or another resource. */
  if (!CRYPTO_KEY_NAME.test(options.keyName)) {
    throw new Error('GCP KMS key name must be projects/P/locations/L/keyRings/R/cryptoKeys/K');
  }
  const keyName = options.keyName;
  const maxAttempts = options.maxAttempts ?? 4;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 15_000;
  const initialBackoffMs = options.initialBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 2_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  const checkCacheMs = options.checkCacheMs ?? 10_000;
  /* An emulator must never lead the auth library to probe the GCE metadata server. */
  if (options.endpoint) process.env.METADATA_SERVER_DETECTION ??= 'none';
  /* The client library takes most of a second to load; a process that never calls KMS should not pay for it. */
  let clientPromise: Promise<KeyManagementServiceClient> | undefined;
  const kms = () => (clientPromise ??= createClient(options.endpoint));

  /* gax retries UNAVAILABLE on its own for up to a minute; `retry: null` leaves only our loop. */
  const callOptions = (timeout: number): CallOptions => ({ retry: null, timeout });

  async function encryptOnce(plaintext: Buffer, aad: Buffer, timeout: number) {
    const [response] = await (await kms()).encrypt(
      {
        name: keyName,
        plaintext,
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(plaintext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      },
      callOptions(timeout),
    );
    /* Postcondition: KMS saw the bytes we sent, and we got the bytes it sent. */
    if (!response.verifiedPlaintextCrc32c || !response.verifiedAdditionalAuthenticatedDataCrc32c) {
      throw new ChecksumMismatch('request');
    }
    const ciphertext = toBuffer(response.ciphertext);
    if (!ciphertext || int64(response.ciphertextCrc32c?.value) !== crc32c(ciphertext)) {
      throw new ChecksumMismatch('ciphertext');
    }
    /* Postcondition: the version that wrapped the key belongs to the configured CryptoKey. */
    const version = response.name ?? '';
    if (KEY_VERSION_NAME.exec(version)?.[1] !== keyName) throw new UnexpectedResponse('foreign key version');
    return { wrapped: ciphertext, keyRef: version };
  }

  async function decryptOnce(cryptoKey: string, ciphertext: Buffer, aad: Buffer, timeout: number) {
    const [response] = await (await kms()).decrypt(
      {
        name: cryptoKey,
        ciphertext,
        additionalAuthenticatedData: aad,
        ciphertextCrc32c: { value: crc32c(ciphertext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      },
      callOptions(timeout),
    );
    const received = toBuffer(response.plaintext);
    try {
      /* Postcondition: the key we hand on is byte for byte what KMS decrypted. */
      if (!received || int64(response.plaintextCrc32c?.value) !== crc32c(received)) {
        throw new ChecksumMismatch('plaintext');
      }
      /* A buffer of its own (not a view into the receive buffer, nor the shared pool) that the caller can zero. */
      const key = Buffer.alloc(received.length);
      received.copy(key);
      return key;
    } finally {
      received?.fill(0);
    }
  }

  /** Repeats `attempt` on transient failures with jittered exponential backoff, within the total deadline. */
  async function withRetries<T>(operation: 'encrypt' | 'decrypt', attempt: (timeout: number) => Promise<T>) {
    const deadline = Date.now() + totalTimeoutMs;
    for (let n = 1; ; n++) {
      const timeout = Math.min(attemptTimeoutMs, deadline - Date.now());
      try {
        return await attempt(timeout);
      } catch (error) {
        const backoff = jitter(Math.min(maxBackoffMs, initialBackoffMs * 2 ** (n - 1)));
        if (!isTransient(error) || n >= maxAttempts || Date.now() + backoff >= deadline) {
          throw toProviderError(error, operation);
        }
        const reason = describe(error);
        options.logger?.warn({ provider: PROVIDER_ID, operation, attempt: n, reason }, 'retrying KMS call');
        await sleep(backoff);
      }
    }
  }

  let readiness: { readonly startedAt: number; readonly outcome: Promise<void> } | undefined;

  return {
    id: PROVIDER_ID,
    async wrap(key, aad) {
      return withRetries('encrypt', (timeout) => encryptOnce(key, aad, timeout));
    },
    async unwrap(wrapped, keyRef, aad) {
      /*
       * Precondition: keyRef names a CryptoKeyVersion. Decrypt goes to that
       * version's CryptoKey, not the configured one, so data wrapped before a
       * change of GCP_KMS_KEY_NAME still opens.
       */
      const cryptoKey = KEY_VERSION_NAME.exec(keyRef)?.[1];
      if (!cryptoKey) throw new DecryptionFailedError('key reference is not a Cloud KMS key version');
      if (wrapped.length === 0) throw new DecryptionFailedError();
      return withRetries('decrypt', (timeout) => decryptOnce(cryptoKey, wrapped, aad, timeout));
    },
    /* Readiness is polled often; one small Encrypt answers for checkCacheMs, success or failure. */
    check() {
      if (!readiness || Date.now() - readiness.startedAt >= checkCacheMs) {
        const outcome = encryptOnce(READINESS_PLAINTEXT, READINESS_AAD, checkTimeoutMs).then(
          () => undefined,
          (error: unknown) => {
            throw toProviderError(error, 'encrypt');
          },
        );
        readiness = { startedAt: Date.now(), outcome };
      }
      return readiness.outcome;
    },
    /*
     * No primaryKeyRef: the primary version can change in KMS at any time,
     * and a stale answer would make `keys rewrap` skip blobs it should move.
     */
    async close() {
      const client = await clientPromise?.catch(() => undefined);
      await client?.close();
    },
  };
}

async function createClient(endpoint: string | undefined): Promise<KeyManagementServiceClient> {
  const [{ KeyManagementServiceClient }, { googleAuthLibrary, grpc }] = await Promise.all([
    import('@google-cloud/kms'),
    import('google-gax'),
  ]);
  if (!endpoint) return new KeyManagementServiceClient();
  const separator = endpoint.lastIndexOf(':');
  return new KeyManagementServiceClient({
    apiEndpoint: endpoint.slice(0, separator),
    port: Number(endpoint.slice(separator + 1)),
    sslCreds: grpc.credentials.createInsecure(),
    /* Never asked for a token (insecure channels carry no call credentials); it only stops ADC discovery. */
    authClient: new googleAuthLibrary.OAuth2Client(),
  });
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function isTransient(error: unknown): boolean {
  if (error instanceof ChecksumMismatch) return true;
  const code = grpcCode(error);
  return code === Status.UNAVAILABLE || code === Status.RESOURCE_EXHAUSTED;
}

/** A loggable reason: a gRPC status name or our own label, never KMS's message text. */
function describe(error: unknown): string {
  if (error instanceof ChecksumMismatch) return `${error.message} checksum mismatch`;
  if (error instanceof UnexpectedResponse) return error.message;
  const code = grpcCode(error);
  return code === undefined ? 'transport failure' : (STATUS_NAMES[code] ?? `status ${code}`);
}

/**
 * Bad ciphertext, wrong AAD or an unknown key on Decrypt mean the stored blob
 * cannot be opened here; everything else is KMS not doing its job.
 */
function toProviderError(error: unknown, operation: 'encrypt' | 'decrypt'): Error {
  if (isAppError(error)) return error;
  const code = grpcCode(error);
  if (operation === 'decrypt' && (code === Status.INVALID_ARGUMENT || code === Status.NOT_FOUND)) {
    return new DecryptionFailedError();
  }
  return new KeyProviderUnavailableError(PROVIDER_ID, `failed: ${describe(error)}`);
}

/** Int64Value arrives as a string (gax asks for longs as strings), a number or a Long. */
function int64(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  const parsed = Number(String(value));
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

function toBuffer(bytes: Uint8Array | string | null | undefined): Buffer | undefined {
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return undefined;
}

/** Equal jitter: at least half the step, so retries never stampede at zero delay. */
const jitter = (ms: number) => ms / 2 + Math.random() * (ms / 2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const gcpKmsProviderFactory: ProviderFactory = async ({ config, logger, active }) => {
  const { keyName, endpoint, attemptTimeoutMs } = config.gcpKms;
  if (!keyName) {
    /* Precondition: config.ts already refuses CIPHER_PROVIDER=gcp-kms without a key name. */
    if (active) throw new Error('the gcp-kms provider needs GCP_KMS_KEY_NAME');
    return undefined;
  }
  /* The whole call may retry for three attempts' time at most. */
  return createGcpKmsProvider({ keyName, endpoint, logger, attemptTimeoutMs, totalTimeoutMs: 3 * attemptTimeoutMs });
};
