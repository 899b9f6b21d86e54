import { Capability, type AccessPolicy } from '../access/access-policy';
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
  rewrapAll(caller: AccessPolicy, options: RewrapOptions = {}): Promise<RewrapResult> {
    caller.assert(Capability.MANAGE);
    return rewrapEnvironmentKeys(this.deps, caller.principal, options);
  }

  /** A new key version for one environment, its data keys moved to it, old versions deleted (see environment-rotation.ts). */
  rotateEnvironment(caller: AccessPolicy, environmentId: unknown, options: RotateOptions = {}): Promise<RotateResult> {
    caller.assert(Capability.MANAGE);
    return rotateEnvironmentKey(this.deps, caller.principal, environmentId, options);
  }

  async status(caller: AccessPolicy): Promise<KeyStatus> {
    caller.assert(Capability.MANAGE);
    return readKeyStatus(this.deps.db, this.deps.registry);
  }
}
