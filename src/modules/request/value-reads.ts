import { AuditAction, type Secret } from '../../entities';
import { BadUserInputError } from '../../errors';
import { secretRecord, type AuditRecord } from '../audit/audit-record';
import type { Principal } from '../access/access-policy';

/** Raised when one request asks for more distinct values than the per-request bound allows. */
export class TooManyValuesError extends BadUserInputError {
  constructor(limit: number) {
    super('value', `this request reads more than ${limit} distinct values; narrow it (one environment or space, or fewer aliases)`);
  }
}

/** The (secret, version) a read or its audit record is about. */
const readKey = (secret: Pick<Secret, 'id' | 'version'>) => `${secret.id}:${secret.version}`;

/**
 * The values one request reads. Each (secret, version) is decrypted once and
 * noted once however often the request selects it (aliases, `overrides`,
 * `secret`), and the number of distinct values is bounded, so one small
 * query cannot make thousands of decryptions and append-only audit rows.
 * Over the bound the whole answer is withheld (RequestContexts.finish): no
 * value leaves, so nothing is left half-audited.
 */
export class ValueReads {
  private readonly values = new Map<string, string | Promise<string>>();
  private readonly records: AuditRecord[] = [];
  private exceeded: TooManyValuesError | undefined;

  constructor(
    private readonly principal: Principal,
    private readonly limit: number,
  ) {}

  /** `decrypt`'s result for this (secret, version), computed at most once per request; synchronous when it is. */
  once(secret: Secret, decrypt: () => string | Promise<string>): string | Promise<string> {
    const key = readKey(secret);
    const known = this.values.get(key);
    if (known !== undefined) return known;
    if (this.values.size >= this.limit) {
      this.exceeded ??= new TooManyValuesError(this.limit);
      throw this.exceeded;
    }
    const noted = (plaintext: string) => {
      this.values.set(key, plaintext);
      this.records.push(secretRecord(AuditAction.SECRET_READ, this.principal, secret));
      return plaintext;
    };
    const value = decrypt();
    if (typeof value === 'string') return noted(value);
    const pending = value.then(noted, (error: unknown) => {
      this.values.delete(key); // a failed decryption is not a read, and is not remembered
      throw error;
    });
    this.values.set(key, pending);
    return pending;
  }

  /** Set once a selection went over the bound: the answer must then be withheld whole. */
  get overLimit(): TooManyValuesError | undefined {
    return this.exceeded;
  }

  /** The audit records of every value served, taken once. */
  take(): AuditRecord[] {
    return this.records.splice(0);
  }

  get size(): number {
    return this.records.length;
  }
}
