import type { DataSource } from 'typeorm';

import type { EnvironmentKeyring } from '../../crypto/keyring';
import type { CipherProviderRegistry } from '../../crypto/provider';
import type { AuditService } from '../audit/audit.service';

/** How far a long-running key operation has got; `total` may grow while writes land on old versions. */
export interface KeyProgress {
  readonly done: number;
  readonly total: number;
}

/** Called after each unit of work has committed; throwing from it stops the run (which stays resumable). */
export type KeyProgressListener = (progress: KeyProgress) => void;

/** What rotation needs from the container, narrowed so a drifting fake fails to compile. */
export interface KeyRotationDeps {
  readonly db: DataSource;
  /** Unwrapping follows each blob's provider id, so the registry itself (every configured provider) is needed. */
  readonly registry: CipherProviderRegistry;
  readonly keyring: Pick<EnvironmentKeyring, 'key' | 'create' | 'remember'>;
  readonly audit: Pick<AuditService, 'append'>;
}

export interface RewrapOptions {
  /** Wrap under this provider instead of the active one (a migration). */
  readonly providerId?: string;
  /** Environment keys re-wrapped in parallel; each costs one unwrap and one wrap call. */
  readonly concurrency?: number;
  readonly onProgress?: KeyProgressListener;
}

export interface RewrapResult {
  readonly providerId: string;
  /** The master key (version) the run moved keys to, as learned before it started. */
  readonly keyRef: string;
  /** Environment keys in the database when the run started. */
  readonly environmentKeys: number;
  readonly rewrapped: number;
  /** Already under the target master key: skipped without a provider call. */
  readonly alreadyCurrent: number;
  /** Changed by someone else between read and write (another run); left as they were. */
  readonly changedConcurrently: number;
}

export interface RotateOptions {
  /** Data keys re-wrapped per transaction. */
  readonly batchSize?: number;
  readonly onProgress?: KeyProgressListener;
  /**
   * How long old versions stay after the last data key left them, so a read
   * that fetched a row just before the last batch can still load its key.
   */
  readonly retireDelayMs?: number;
}

export interface RotateResult {
  readonly environmentId: string;
  /** The environment-key version every data key now uses. */
  readonly keyVersion: number;
  /** True when this run finished a rotation an earlier run had started. */
  readonly resumed: boolean;
  readonly rewrappedDataKeys: number;
  readonly retiredVersions: number[];
}

export interface KeyStatus {
  readonly activeProviderId: string;
  /** The master key the active provider wraps with, when known without a call (local); null for KMS. */
  readonly primaryKeyRef: string | null;
  readonly environmentKeys: { providerId: string; keyRef: string; count: number }[];
  readonly environments: EnvironmentKeyStatus[];
}

export interface EnvironmentKeyStatus {
  readonly environmentId: string;
  readonly name: string;
  readonly currentKeyVersion: number;
  /** Versions still stored; more than one means a rotation has not finished. */
  readonly keyVersions: number[];
  readonly dataKeys: { keyVersion: number; count: number }[];
  readonly rotationInProgress: boolean;
}
