import { DecryptionFailedError } from '../errors';

/**
 * A master-key holder. It only wraps and unwraps environment keys; it never
 * sees a secret value. `envelope.ts` enforces every invariant around it.
 */
export interface CipherProvider {
  /** Recorded in every blob this provider wraps: 'local', 'gcp-kms', ... */
  readonly id: string;
  /** Wraps `key` under the current master key, bound to `aad`. */
  wrap(key: Buffer, aad: Buffer): Promise<{ wrapped: Buffer; keyRef: string }>;
  /** Reverses `wrap`; `keyRef` names the master key (version) that wrapped it. */
  unwrap(wrapped: Buffer, keyRef: string, aad: Buffer): Promise<Buffer>;
  /** Resolves when the provider can serve calls; rejects otherwise. */
  check(): Promise<void>;
  /** The key reference new wraps will record, when known without a call. */
  primaryKeyRef?(): string | undefined;
  close?(): Promise<void>;
}

/**
 * Maps provider ids to the providers configured in this process. The active
 * one wraps new keys; unwrapping follows the id recorded in each blob, so data
 * written under an older provider stays readable during a migration.
 */
export class CipherProviderRegistry {
  private readonly providers: ReadonlyMap<string, CipherProvider>;

  constructor(
    providers: readonly CipherProvider[],
    private readonly activeId: string,
  ) {
    this.providers = new Map(providers.map((p) => [p.id, p]));
    /* Precondition: the active provider is one of the configured providers. */
    if (!this.providers.has(activeId)) {
      throw new Error(`cipher provider '${activeId}' is not configured`);
    }
  }

  get active(): CipherProvider {
    return this.providers.get(this.activeId)!;
  }

  has(id: string): boolean {
    return this.providers.has(id);
  }

  ids(): string[] {
    return [...this.providers.keys()];
  }

  /** The provider a stored blob names; a blob from an unconfigured provider cannot be opened. */
  get(id: string): CipherProvider {
    const provider = this.providers.get(id);
    if (!provider) {
      throw new DecryptionFailedError(`cipher provider '${id}' is not configured on this server`);
    }
    return provider;
  }

  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.close?.()));
  }
}
