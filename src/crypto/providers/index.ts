import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { CipherProviderRegistry, type CipherProvider } from '../provider';
import type { ProviderFactory } from './factory';
import { gcpKmsProviderFactory } from './gcp-kms.provider';
import { localProviderFactory } from './local.provider';

/* Adding a provider: one file in this folder, one line here. */
const factories: Readonly<Record<string, ProviderFactory>> = {
  local: localProviderFactory,
  'gcp-kms': gcpKmsProviderFactory,
};

export async function createCipherProviderRegistry(
  config: Config,
  logger: Logger,
): Promise<CipherProviderRegistry> {
  const factory = factories[config.cipherProvider];
  if (!factory) throw new Error(`cipher provider '${config.cipherProvider}' is not available in this build`);
  const providers: CipherProvider[] = [];
  for (const [id, create] of Object.entries(factories)) {
    const provider = await create({ config, logger, active: id === config.cipherProvider });
    if (provider) providers.push(provider);
  }
  return new CipherProviderRegistry(providers, config.cipherProvider);
}
