import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { parseLocalMasterKeys, type LocalMasterKey } from '../../config';
import { preparePrivateDirectory } from '../../db/private-directory';
import { DecryptionFailedError } from '../../errors';
import { openFromBuffer, sealToBuffer } from '../aes-gcm';
import type { CipherProvider } from '../provider';
import type { ProviderFactory } from './factory';

export const GENERATED_KEY_FILE = 'master.key';

/**
 * AES-256-GCM under a locally held master key. The first key wraps; every key
 * unwraps, so old keys stay listed until `keys rewrap` has moved off them.
 */
export function createLocalProvider(keys: readonly LocalMasterKey[]): CipherProvider {
  /* Precondition: at least one 256-bit key, the first of which wraps. */
  if (keys.length === 0) throw new Error('the local provider needs at least one key');
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const primary = keys[0];

  return {
    id: 'local',
    async wrap(key, aad) {
      return { wrapped: sealToBuffer(primary.key, key, aad), keyRef: primary.id };
    },
    async unwrap(wrapped, keyRef, aad) {
      const master = byId.get(keyRef);
      if (!master) throw new DecryptionFailedError(`local master key '${keyRef}' is not configured`);
      return openFromBuffer(master, wrapped, aad);
    },
    async check() {},
    primaryKeyRef: () => primary.id,
  };
}

/**
 * Keys come from LOCAL_MASTER_KEYS, else LOCAL_MASTER_KEY_FILE, else the key
 * file in DATA_DIR. Only the embedded database with `local` active may
 * generate that file; config.ts refuses the external-database case earlier.
 */
export const localProviderFactory: ProviderFactory = async ({ config, logger, active }) => {
  if (config.local.masterKeys) return createLocalProvider(parseLocalMasterKeys(config.local.masterKeys));
  if (config.local.masterKeyFile) {
    return createLocalProvider(parseLocalMasterKeys(readFileSync(config.local.masterKeyFile, 'utf8')));
  }
  const generated = path.join(config.dataDir, GENERATED_KEY_FILE);
  if (existsSync(generated)) return createLocalProvider(parseLocalMasterKeys(readFileSync(generated, 'utf8')));
  if (!active || !config.embedded) return undefined;
  preparePrivateDirectory(config.dataDir);
  const id = `generated-${randomBytes(4).toString('hex')}`;
  writeFileSync(generated, `${id}:${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  logger.warn(
    { file: generated },
    'generated a local master key for the embedded database; set LOCAL_MASTER_KEYS or LOCAL_MASTER_KEY_FILE for real use',
  );
  return createLocalProvider(parseLocalMasterKeys(readFileSync(generated, 'utf8')));
};
