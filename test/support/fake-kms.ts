import { crc32c } from '@aws-crypto/crc32c';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/*
 * A Cloud KMS stand-in speaking real gRPC on loopback, so the real
 * @google-cloud/kms client (and its serialization, deadlines and status
 * codes) is what the tests exercise. Only Encrypt and Decrypt exist.
 */

export type FakeKmsFailure = 'UNAVAILABLE' | 'RESOURCE_EXHAUSTED' | 'CORRUPT_CHECKSUM' | 'FOREIGN_KEY_VERSION';

/** What the last request of a method carried, checksums as plain numbers. */
export interface RecordedRequest {
  readonly name: string;
  readonly data: Buffer;
  readonly additionalAuthenticatedData: Buffer;
  readonly dataCrc32c: number | undefined;
  readonly additionalAuthenticatedDataCrc32c: number | undefined;
}

export interface FakeKms {
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** The one CryptoKey served. */
  readonly keyName: string;
  readonly calls: { encrypt: number; decrypt: number };
  readonly lastRequest: { encrypt?: RecordedRequest; decrypt?: RecordedRequest };
  readonly primaryVersion: number;
  versionName(version: number): string;
  setPrimaryVersion(version: number): void;
  /** Creates a version (not primary) and returns its number. */
  addVersion(): number;
  setLatency(ms: number): void;
  /** The next `count` calls, of either method, fail this way. */
  failNext(kind: FakeKmsFailure, count?: number): void;
  /** Zeroes counters, failures, latency and recorded requests; keys stay. */
  reset(): void;
  stop(): Promise<void>;
}

export interface FakeKmsOptions {
  readonly keyName?: string;
  readonly latencyMs?: number;
}

const VERSION_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PROTOS = require.resolve('@google-cloud/kms/build/protos/protos.json');

type Handler = grpc.handleUnaryCall<Record<string, any>, Record<string, unknown>>;

class KmsFault extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeKms(options: FakeKmsOptions = {}): Promise<FakeKms> {
  const keyName = options.keyName ?? 'projects/test/locations/global/keyRings/ring/cryptoKeys/key';
  const versions = new Map<number, Buffer>([[1, randomBytes(32)]]);
  let primaryVersion = 1;
  let latencyMs = options.latencyMs ?? 0;
  let failures: FakeKmsFailure[] = [];
  const calls = { encrypt: 0, decrypt: 0 };
  const lastRequest: { encrypt?: RecordedRequest; decrypt?: RecordedRequest } = {};
  const pending = new Set<NodeJS.Timeout>();
  const versionName = (version: number) => `${keyName}/cryptoKeyVersions/${version}`;
  const versionOf = (name: string) => [...versions.keys()].find((version) => versionName(version) === name);

  function seal(version: number, plaintext: Buffer, aad: Buffer): Buffer {
    const header = Buffer.alloc(VERSION_BYTES);
    header.writeUInt32BE(version);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', versions.get(version)!, iv);
    /* The version header is authenticated too, so a ciphertext cannot be pointed at another version. */
    cipher.setAAD(Buffer.concat([header, aad]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
  }

  function open(ciphertext: Buffer, aad: Buffer): Buffer {
    const invalid = new KmsFault(grpc.status.INVALID_ARGUMENT, 'Decryption failed: the ciphertext is invalid.');
    if (ciphertext.length < VERSION_BYTES + IV_BYTES + TAG_BYTES) throw invalid;
    const key = versions.get(ciphertext.readUInt32BE(0));
    if (!key) throw invalid;
    try {
      const iv = ciphertext.subarray(VERSION_BYTES, VERSION_BYTES + IV_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.concat([ciphertext.subarray(0, VERSION_BYTES), aad]));
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
      const body = ciphertext.subarray(VERSION_BYTES + IV_BYTES, ciphertext.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw invalid;
    }
  }

  /** Mirrors KMS: a checksum that was sent must match, and "verified" says it was checked. */
  function verifyChecksum(field: string, data: Buffer, checksum: number | undefined): boolean {
    if (checksum === undefined) return false;
    if (checksum !== crc32c(data)) {
      throw new KmsFault(grpc.status.INVALID_ARGUMENT, `The checksum in field ${field} did not match the data.`);
    }
    return true;
  }

  function record(request: Record<string, any>, dataField: 'plaintext' | 'ciphertext'): RecordedRequest {
    return {
      name: request.name ?? '',
      data: Buffer.from(request[dataField] ?? []),
      additionalAuthenticatedData: Buffer.from(request.additionalAuthenticatedData ?? []),
      dataCrc32c: int64(request[`${dataField}Crc32c`]),
      additionalAuthenticatedDataCrc32c: int64(request.additionalAuthenticatedDataCrc32c),
    };
  }

  function encrypt(request: RecordedRequest, fault: FakeKmsFailure | undefined) {
    /* Like KMS: a CryptoKey name means its primary version; a version name means that version. */
    const version = request.name === keyName ? primaryVersion : versionOf(request.name);
    if (version === undefined) throw new KmsFault(grpc.status.NOT_FOUND, `${request.name} not found.`);
    const verifiedPlaintextCrc32c = verifyChecksum('plaintext_crc32c', request.data, request.dataCrc32c);
    const verifiedAdditionalAuthenticatedDataCrc32c = verifyChecksum(
      'additional_authenticated_data_crc32c',
      request.additionalAuthenticatedData,
      request.additionalAuthenticatedDataCrc32c,
    );
    const ciphertext = seal(version, request.data, request.additionalAuthenticatedData);
    const checksum = crc32c(ciphertext);
    return {
      name: fault === 'FOREIGN_KEY_VERSION' ? `${keyName}-other/cryptoKeyVersions/${version}` : versionName(version),
      ciphertext,
      ciphertextCrc32c: { value: String(fault === 'CORRUPT_CHECKSUM' ? checksum ^ 1 : checksum) },
      verifiedPlaintextCrc32c,
      verifiedAdditionalAuthenticatedDataCrc32c,
      protectionLevel: 'SOFTWARE',
    };
  }

  function decrypt(request: RecordedRequest, fault: FakeKmsFailure | undefined) {
    if (request.name !== keyName) throw new KmsFault(grpc.status.NOT_FOUND, `${request.name} not found.`);
    verifyChecksum('ciphertext_crc32c', request.data, request.dataCrc32c);
    verifyChecksum(
      'additional_authenticated_data_crc32c',
      request.additionalAuthenticatedData,
      request.additionalAuthenticatedDataCrc32c,
    );
    const plaintext = open(request.data, request.additionalAuthenticatedData);
    const checksum = crc32c(plaintext);
    return {
      plaintext,
      plaintextCrc32c: { value: String(fault === 'CORRUPT_CHECKSUM' ? checksum ^ 1 : checksum) },
      usedPrimary: request.data.readUInt32BE(0) === primaryVersion,
      protectionLevel: 'SOFTWARE',
    };
  }

  function handler(method: 'encrypt' | 'decrypt'): Handler {
    return (call, callback) => {
      calls[method] += 1;
      const fault = failures.shift();
      const respond = () => {
        pending.delete(timer);
        if (fault === 'UNAVAILABLE' || fault === 'RESOURCE_EXHAUSTED') {
          callback({ code: grpc.status[fault], details: `injected ${fault}` });
          return;
        }
        try {
          const request = record(call.request, method === 'encrypt' ? 'plaintext' : 'ciphertext');
          lastRequest[method] = request;
          callback(null, method === 'encrypt' ? encrypt(request, fault) : decrypt(request, fault));
        } catch (error) {
          const failure = error instanceof KmsFault ? error : new KmsFault(grpc.status.INTERNAL, 'fake KMS failed');
          callback({ code: failure.code, details: failure.message });
        }
      };
      const timer = setTimeout(respond, latencyMs);
      pending.add(timer);
    };
  }

  const definition = protoLoader.fromJSON(JSON.parse(readFileSync(PROTOS, 'utf8')), {
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const service = (definition['google.cloud.kms.v1.KeyManagementService'] ?? {}) as grpc.ServiceDefinition;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, attributes] of Object.entries(service)) {
    implementation[method] = (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: `${attributes.path} is not faked` });
  }
  implementation.Encrypt = handler('encrypt');
  implementation.Decrypt = handler('decrypt');

  const server = new grpc.Server();
  server.addService(service, implementation);
  const host = '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  return {
    endpoint: `${host}:${port}`,
    host,
    port,
    keyName,
    calls,
    lastRequest,
    get primaryVersion() {
      return primaryVersion;
    },
    versionName,
    setPrimaryVersion(version) {
      if (!versions.has(version)) throw new Error(`version ${version} does not exist`);
      primaryVersion = version;
    },
    addVersion() {
      const version = Math.max(...versions.keys()) + 1;
      versions.set(version, randomBytes(32));
      return version;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    failNext(kind, count = 1) {
      failures.push(...Array.from({ length: count }, () => kind));
    },
    reset() {
      calls.encrypt = 0;
      calls.decrypt = 0;
      failures = [];
      latencyMs = 0;
      delete lastRequest.encrypt;
      delete lastRequest.decrypt;
    },
    async stop() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      server.forceShutdown();
    },
  };
}

/** A wrapper that is present was sent; proto3 drops a zero value, so a present, empty wrapper is 0. */
function int64(wrapper: { value?: unknown } | null | undefined): number | undefined {
  if (!wrapper) return undefined;
  return wrapper.value === undefined || wrapper.value === null ? 0 : Number(wrapper.value);
}
