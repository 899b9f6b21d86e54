import type { Container } from '../../container';
import { rewrapEnvironmentKeys } from './environment-key-rewrap';
import { rotateEnvironmentKey } from './environment-rotation';
import { readKeyStatus } from './key-status';
import type {
  KeyRotationDeps,
  KeyStatus,
  RewrapOptions,
  RewrapResult,
  RotateOptions,
  RotateResult,
} from './key-rotation.types';

/**
 * The operator's key operations (DESIGN §5), run from the CLI while servers
 * keep serving. Each one is idempotent and resumable; the how and why of each
 * lives in its own file.
 */
export class KeyRotationService {
  constructor(private readonly deps: KeyRotationDeps) {}

  /** Re-wraps every environment key not yet under the target master key (see environment-key-rewrap.ts). */
  rewrapAll(options: RewrapOptions = {}): Promise<RewrapResult> {
    return rewrapEnvironmentKeys(this.deps, options);
  }

  /** A new key version for one environment, its data keys moved to it, old versions deleted (see environment-rotation.ts). */
  rotateEnvironment(environmentId: unknown, options: RotateOptions = {}): Promise<RotateResult> {
    return rotateEnvironmentKey(this.deps, environmentId, options);
  }

  status(): Promise<KeyStatus> {
    return readKeyStatus(this.deps.db, this.deps.registry);
  }
}

/** Built on demand by the CLI and tests from the shared container (the server never rotates). */
export function createKeyRotationService(container: Pick<Container, 'database' | 'registry' | 'keyring' | 'audit'>) {
  return new KeyRotationService({
    db: container.database.dataSource,
    registry: container.registry,
    keyring: container.keyring,
    audit: container.audit,
  });
}
