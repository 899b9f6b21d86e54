import type { Config } from '../../config';
import type { Logger } from '../../logger';
import type { CipherProvider } from '../provider';

export interface ProviderFactoryContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Whether this provider is the one CIPHER_PROVIDER names. */
  readonly active: boolean;
}

/** Returns the provider, or undefined when it is neither active nor configured. */
export type ProviderFactory = (context: ProviderFactoryContext) => Promise<CipherProvider | undefined>;
