import { EncryptedQuarantine } from '../adapters/crypto/encrypted-quarantine.js';
import { AesGcmCipher, HmacHasher, SystemClock, UuidV7Generator } from '../adapters/crypto/node-crypto.js';
import { StaticTenantSettings, type TenantSettingsInput } from '../adapters/config/static-tenant-settings.js';
import { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { checkClaimSecret, claimSecretGuarded, type ClaimSecretCheck } from '../application/claim-secret.js';
import type { CorePorts } from '../application/deps.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { DEFAULT_SOURCES, sourceIn } from '../application/ingest/sources.js';
import type { Clock, IdGenerator, Metrics } from '../application/ports/runtime.port.js';
import { IdentityRules } from '../domain/identity/rules.js';

/** The ports an adapter family provides: the event log and the stores beside it. */
export type StorePorts = Pick<CorePorts, 'store' | 'readModels' | 'keys' | 'quarantine' | 'audit' | 'ledger' | 'snapshots'>;

export type PortsOptions = {
  /** the stores, from one adapter family (`memoryStores`, `dynamoDbStores`, `sqliteStores`) or your own */
  readonly stores: StorePorts;
  /**
   * the secret claim keys are derived with (HMAC-SHA-256 of tenant, type and value). It must stay
   * the same for the life of the store: a new secret makes every known identifier unknown. At least
   * CLAIM_SECRET_MIN_LENGTH (32) characters, or bytes for a Buffer, as the server requires of
   * C360_CLAIM_SECRET: e.g. `randomBytes(32).toString('base64url')`, kept in a secret store.
   */
  readonly claimSecret: string | Buffer;
  /** identity rules, limits, score config and phone region; per tenant under `tenants` */
  readonly settings?: TenantSettingsInput | undefined;
  readonly clock?: Clock | undefined;
  readonly ids?: IdGenerator | undefined;
  readonly metrics?: Metrics | undefined;
};

/** Shortest claim secret `createPorts` takes: the server's minimum for C360_CLAIM_SECRET. */
const CLAIM_SECRET_MIN_LENGTH = 32;

/**
 * A short claim secret makes claim keys guessable from the identifiers (an email's key recomputed
 * by anyone who guesses the secret), and it can never change for a store: refused at the start,
 * before anything is written under it.
 */
const checkClaimSecretLength = (secret: unknown): void => {
  const length = typeof secret === 'string' ? secret.length : Buffer.isBuffer(secret) ? secret.byteLength : undefined;
  if (length === undefined) throw new TypeError('claimSecret: must be a string or a Buffer');
  if (length < CLAIM_SECRET_MIN_LENGTH)
    throw new RangeError(
      `claimSecret: must hold at least ${CLAIM_SECRET_MIN_LENGTH} ${typeof secret === 'string' ? 'characters' : 'bytes'} (got ${length}); ` +
        "generate one with randomBytes(32).toString('base64url') and keep it: it can never change for a store",
    );
};

/**
 * Every port the core needs: the stores given, Node's crypto for data keys and claim keys, and
 * settings from `settings`. Quarantined payloads are personal data, so the quarantine given is
 * wrapped to encrypt them under the tenant's quarantine key.
 */
export const createPorts = (options: PortsOptions): CorePorts => {
  const { stores } = options;
  checkClaimSecretLength(options.claimSecret);
  const cipher = new AesGcmCipher();
  const hasher = new HmacHasher(() => options.claimSecret);
  return {
    ...stores,
    // the first commit records the secret's fingerprint in a store that has none, and every
    // commit and claim read refuses a secret the store does not record (ClaimSecretMismatch)
    store: claimSecretGuarded(stores.store, { keys: stores.keys, hasher }, 'claimSecret'),
    quarantine: new EncryptedQuarantine(stores.quarantine, stores.keys, cipher),
    cipher,
    hasher,
    clock: options.clock ?? new SystemClock(),
    ids: options.ids ?? new UuidV7Generator(),
    settings: new StaticTenantSettings(options.settings ?? {}),
    metrics: options.metrics ?? new MemoryMetrics(),
  };
};

/** Thrown by `parseIdentityRules` for a rules document that does not fit the schema. */
export class IdentityRulesError extends Error {
  override readonly name = 'IdentityRulesError';
  constructor(
    message: string,
    /** the offending fields, e.g. `types.email.limit` */
    readonly fields: readonly string[],
  ) {
    super(message);
  }
}

/**
 * An identity rules document (the parsed JSON of a rules file), checked against the schema. The
 * error names every offending field.
 */
export const parseIdentityRules = (json: unknown): IdentityRules => {
  const parsed = IdentityRules.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', message: i.message }));
  throw new IdentityRulesError(
    `invalid identity rules: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
    issues.map((i) => i.field),
  );
};

/**
 * `CoreOptions.sourceOf` with the server's default sources (C360_SOURCES unset): web and mobile 10,
 * support 30, crm 50, each on its own channel, import 0 on `other`; any other name priority 0 on
 * the web channel. Write your own for other priorities.
 */
export const defaultSourceOf = (_tenant: string, name: string): IngestSource => sourceIn(DEFAULT_SOURCES, name);

/**
 * Checks the ports' claim secret against the one their store records, at once: what the first
 * commit or claim read of `createPorts`' ports does by itself, for an embedding that would rather
 * fail at start. Records the secret in a store that records none (a new store, or one from before
 * the fingerprint: trust on first use) and answers `'recorded'`; `'matches'` when it is the one
 * recorded. Throws ClaimSecretMismatch when the store records another one.
 */
export const verifyClaimSecret = (ports: Pick<CorePorts, 'keys' | 'hasher'>): Promise<ClaimSecretCheck> =>
  checkClaimSecret(ports, { record: true, setting: 'claimSecret' });
