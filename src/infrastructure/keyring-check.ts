import type { Container } from 'inversify';
import type { MasterKeyUse } from '../adapters/crypto/master-key.js';
import { ConfigError, type Config } from './config.js';
import { TOKENS } from './tokens.js';

// The server refuses to start, and the CLI warns, when the store holds data keys wrapped by a master key
// their keyring lacks (the master key changed without the old one kept as a previous key): every
// request that needs those customers' data would fail (503 MASTER_KEY_UNAVAILABLE). Lambda cold
// starts skip it (an extra read on every cold start; the functions share one secret, so a deploy
// changes all of them at once): at run time a key that cannot be opened answers 503
// MASTER_KEY_UNAVAILABLE and the log names the master key.

type ChecksMasterKeys = { masterKeyUse(): MasterKeyUse | Promise<MasterKeyUse> };

const checksMasterKeys = (keys: unknown): keys is ChecksMasterKeys => typeof (keys as Partial<ChecksMasterKeys>).masterKeyUse === 'function';

/** The one-line configuration error for master keys in use that the keyring lacks; undefined when there are none. */
export const keyringError = (config: Config, use: MasterKeyUse): ConfigError | undefined => {
  if (use.unknown.length === 0) return undefined;
  const which = use.unknown.length === 1 ? `master key ${use.unknown[0]}, which is` : `master keys ${use.unknown.join(', ')}, which are`;
  const where = config.kmsKeyId ? 'C360_KMS_KEY_ID / C360_MASTER_KEY / C360_MASTER_KEYS_PREVIOUS' : 'C360_MASTER_KEY / C360_MASTER_KEYS_PREVIOUS';
  return new ConfigError(
    `${where}: the store holds data keys wrapped by ${which} not in the keyring (${use.keyring.join(', ')}); ` +
      'start with the master key the data was written with, or keep it in C360_MASTER_KEYS_PREVIOUS beside the new one ' +
      '(without it, the customers whose keys it wraps cannot be read by this process)',
  );
};

/**
 * Throws the ConfigError above when the store's data keys name a master key the keyring lacks, or
 * hands its message to `warn` (the CLI: a lost master key must not lock the operator out of
 * `c360 erase`, which erases such customers without their keys). Where the keys are on the SQLite
 * file only (the embedded store, and EventStoreDB's): it reads every key's master key id at once. On DynamoDB it would be a sample (a Scan page) needing
 * Scan rights the jobs' roles do not have; there the functions and jobs share one secret, and a
 * key the keyring cannot open answers 503 MASTER_KEY_UNAVAILABLE, its master key in the log.
 */
export const checkKeyring = async (config: Config, container: Container, warn?: (message: string) => void): Promise<void> => {
  // the data keys are on the SQLite file with C360_STORE=sqlite and =eventstoredb (its keys, views and quarantine)
  if (config.store === 'memory' || config.store === 'dynamodb') return;
  const keys = container.get(TOKENS.KeyStore);
  if (!checksMasterKeys(keys)) return;
  const error = keyringError(config, await keys.masterKeyUse());
  if (!error) return;
  if (!warn) throw error;
  warn(error.message);
};
