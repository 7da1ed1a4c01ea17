import type { Container } from 'inversify';
import { checkClaimSecret, ClaimSecretMismatch, type ClaimSecretCheck } from '../application/claim-secret.js';
import { ConfigError } from './config.js';
import { TOKENS } from './tokens.js';

// The server and the CLI refuse to start when the store records the fingerprint of another claim
// secret than C360_CLAIM_SECRET (application/claim-secret.ts): every known identifier would be
// unknown, and each would start a second customer. The server records the secret in a store that
// has none (a new store, or one from before the fingerprint: trust on first use); a CLI job only
// compares, and leaves recording to its first write (the long jobs' roles may only read the keys
// table). Lambda cold starts skip it: the functions share one secret, and the event store the core
// sees checks it itself before its first commit or claim read (one read of the keys table in the
// life of a function instance, never at the cold start).

/** The one-line configuration error for a claim secret the store does not record. */
export const claimSecretError = (): ConfigError => new ConfigError(new ClaimSecretMismatch('C360_CLAIM_SECRET').message);

/**
 * Compares C360_CLAIM_SECRET with the fingerprint the store records, recording it where the store
 * has none when `record` (the server); throws the ConfigError above when they differ.
 */
export const checkClaimSecretAtStart = async (container: Container, options: { readonly record: boolean }): Promise<ClaimSecretCheck> => {
  try {
    return await checkClaimSecret(
      { keys: container.get(TOKENS.KeyStore), hasher: container.get(TOKENS.Hasher) },
      { record: options.record, setting: 'C360_CLAIM_SECRET' },
    );
  } catch (e) {
    throw e instanceof ClaimSecretMismatch ? claimSecretError() : e;
  }
};
