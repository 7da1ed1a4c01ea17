import { resolve } from 'node:path';
import type { Container } from 'inversify';
import type { MigrateRequest, MigrateResult } from '../adapters/cli/cli.deps.js';
import { migrateTenant, type MigrationCounts, type MigrationKind, type MigrationSource, type MigrationTarget } from '../application/admin/migrate.use-case.js';
import { DynamoDbOutbox } from '../adapters/dynamodb/dynamodb.outbox.js';
import { DynamoDbQuarantine } from '../adapters/dynamodb/dynamodb.quarantine.js';
import { ensureTables } from '../adapters/dynamodb/dynamodb.tables.js';
import { DynamoDbStoreTransfer } from '../adapters/dynamodb/dynamodb.transfer.js';
import type { SqliteEventStore } from '../adapters/sqlite/sqlite.event-store.js';
import { SqliteOutbox } from '../adapters/sqlite/sqlite.outbox.js';
import { SqliteQuarantine } from '../adapters/sqlite/sqlite.quarantine.js';
import { SqliteStoreTransfer } from '../adapters/sqlite/sqlite.transfer.js';
import type { StoreTransfer } from '../application/ports/store-transfer.port.js';
import type { Hasher, KeyStore } from '../application/ports/keys.port.js';
import { checkClaimSecret, ClaimSecretMismatch } from '../application/claim-secret.js';
import { claimSecretError } from './claim-secret-check.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { buildContainer } from './container.js';
import { embeddedDynamoDbEndpoint } from './local/embedded.js';
import { TOKENS } from './tokens.js';

// The composition of `c360 migrate`: both stores' transfer adapters from two configs, the use
// case between them, then a rebuild of the views on an App built on the target.

export type MigrationSide = MigrationSource &
  MigrationTarget & {
    readonly transfer: StoreTransfer;
    /** the store's data keys and the claim secret's fingerprint */
    readonly keys: KeyStore;
    /** claim keys under the store's config's C360_CLAIM_SECRET */
    readonly hasher: Hasher;
    close(): Promise<void>;
  };

export type MigrationReport = {
  readonly counts: MigrationCounts;
  readonly rebuild: { readonly events: number; readonly docs: number };
};

/** The transfer-side ports of one store (sqlite or dynamodb), straight from its container. */
export const openMigrationSide = async (config: Config): Promise<MigrationSide> => {
  const c = await buildContainer(config);
  const common = (transfer: StoreTransfer, outbox: MigrationTarget['outbox'], close: () => Promise<void>): MigrationSide => ({
    transfer,
    ledger: c.get(TOKENS.ErasureLedger),
    audit: c.get(TOKENS.AuditLog),
    keys: c.get(TOKENS.KeyStore),
    hasher: c.get(TOKENS.Hasher),
    outbox,
    close,
  });
  switch (config.store) {
    case 'sqlite':
      return sqliteSide(c, config, common);
    case 'dynamodb': {
      const client = c.get(TOKENS.DynamoDbClient);
      // on AWS: a missing region is said before anything is read or written
      if (!config.dynamoEndpoint) await client.config.region();
      const { tables } = config;
      const outboxTable = tables.outbox ?? `${tables.events}-outbox`;
      if (config.createTables ?? config.dynamoEndpoint !== undefined) {
        await ensureTables(client, {
          events: tables.events,
          views: tables.views,
          keys: tables.keys,
          quarantine: tables.quarantine,
          audit: tables.audit,
          ledger: tables.ledger,
          outbox: outboxTable,
        });
      }
      const quarantine = new DynamoDbQuarantine(client, { tableName: tables.quarantine, retentionMs: config.quarantineRetentionMs });
      const transfer = new DynamoDbStoreTransfer(
        client,
        { events: tables.events, keys: tables.keys, outbox: outboxTable },
        c.get(TOKENS.EventStore),
        quarantine,
        config.logSettleMs,
      );
      return common(transfer, new DynamoDbOutbox(client, { tableName: outboxTable }), async () => client.destroy());
    }
    default:
      throw new ConfigError(`C360_STORE=${config.store}: migrate moves a tenant between the sqlite and dynamodb stores only`);
  }
};

const sqliteSide = (
  c: Container,
  config: Config,
  common: (t: StoreTransfer, o: MigrationTarget['outbox'], close: () => Promise<void>) => MigrationSide,
): MigrationSide => {
  const db = c.get(TOKENS.Sqlite);
  c.get(TOKENS.KeyStore); // creates the key table
  const quarantine = new SqliteQuarantine(db, { retentionMs: config.quarantineRetentionMs });
  const transfer = new SqliteStoreTransfer(db, c.get(TOKENS.EventStore) as SqliteEventStore, quarantine);
  return common(transfer, new SqliteOutbox(db), async () => db.close());
};

/** The target's config: its own store settings, but the source's secrets (same keys, same claim keys). */
export const targetConfig = (source: Config, target: Config): Config => ({
  ...target,
  claimSecret: source.claimSecret,
  claimSecretGenerated: source.claimSecretGenerated,
  masterKey: source.masterKey,
  previousMasterKeys: source.previousMasterKeys,
  kmsKeyId: source.kmsKeyId,
  projection: 'inline',
  ingestMode: 'sync',
});

/**
 * The claim keys copied are HMACs under the source's claim secret, which the target is run with
 * (targetConfig): the source must record that secret (or none, from before the fingerprint), and
 * the target records it too, before anything is copied. A target that records another secret
 * holds claim keys no process could use beside these: refused.
 */
const carryClaimSecret = async (from: MigrationSide, to: MigrationSide): Promise<void> => {
  try {
    await checkClaimSecret(from, { record: false, setting: 'C360_CLAIM_SECRET' });
  } catch (e) {
    throw e instanceof ClaimSecretMismatch ? claimSecretError() : e;
  }
  try {
    await checkClaimSecret(to, { record: true, setting: 'C360_CLAIM_SECRET' });
  } catch (e) {
    if (!(e instanceof ClaimSecretMismatch)) throw e;
    throw new ConfigError(
      "migrate: the target store records another claim secret than the source's C360_CLAIM_SECRET (it holds claim keys of another store); " +
        'migrate into a store of its own: claim keys under two secrets cannot be served by one process',
    );
  }
};

const sameStore = (a: Config, b: Config): boolean =>
  a.store === b.store && (a.store === 'sqlite' ? a.sqliteFile === b.sqliteFile : a.dynamoEndpoint === b.dynamoEndpoint && a.tables.events === b.tables.events);

/** Copies the tenant from `source` to `target`, then rebuilds its views on the target. */
export const runMigration = async (
  source: Config,
  target: Config,
  tenant: string,
  options: {
    readonly resume?: boolean | undefined;
    readonly onProgress?: ((kind: MigrationKind, copied: number) => void) | undefined;
    readonly actor?: string | undefined;
  } = {},
): Promise<MigrationReport> => {
  if (sameStore(source, target)) throw new ConfigError('migrate: the target is the store the data is in already');
  const from = await openMigrationSide(source);
  let counts: MigrationCounts;
  try {
    const to = await openMigrationSide(target);
    try {
      await carryClaimSecret(from, to);
      counts = await migrateTenant(tenant, from, to, options);
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
  const app = await buildApp(target);
  try {
    const rebuild = await app.core.rebuild.rebuild(tenant, undefined, { actor: options.actor ?? 'system' });
    return { counts, rebuild };
  } finally {
    await app.close();
  }
};

/** The table variables whose value is not the default, with their value: a server on the target needs each. */
const tableSettings = (target: Config): Record<string, string> => {
  const defaults = loadConfig({}).tables;
  const { tables } = target;
  const named: [string, string, string][] = [
    ['C360_EVENTS_TABLE', tables.events, defaults.events],
    ['C360_VIEWS_TABLE', tables.views, defaults.views],
    ['C360_KEYS_TABLE', tables.keys, defaults.keys],
    ['C360_QUARANTINE_TABLE', tables.quarantine, defaults.quarantine],
    ['C360_AUDIT_TABLE', tables.audit, defaults.audit],
    ['C360_LEDGER_TABLE', tables.ledger, defaults.ledger],
    // by default the outbox is named after the events table
    ['C360_OUTBOX_TABLE', tables.outbox ?? `${tables.events}-outbox`, `${tables.events}-outbox`],
  ];
  return Object.fromEntries(named.filter(([, value, byDefault]) => value !== byDefault).map(([name, value]) => [name, value]));
};

/** The settings a server (and the jobs beside it) start with on the target. */
const startSettings = (target: Config, env: NodeJS.ProcessEnv): Record<string, string> => {
  // the data dir holds the secrets (same master key, same claim secret) and the embedded DynamoDB Local
  const dataDir: Record<string, string> = env.C360_DATA_DIR ? { C360_DATA_DIR: resolve(env.C360_DATA_DIR) } : {};
  if (target.store === 'sqlite') return { C360_STORE: 'sqlite', C360_SQLITE_FILE: target.sqliteFile, ...dataDir };
  // the data dir's own DynamoDB Local (started by C360_STORE=dynamodb npm start) is found without its endpoint, which changes at each start
  const endpoint: Record<string, string> =
    target.dynamoEndpoint && target.dynamoEndpoint !== embeddedDynamoDbEndpoint(target.dataDir) ? { AWS_ENDPOINT_URL_DYNAMODB: target.dynamoEndpoint } : {};
  return { C360_STORE: 'dynamodb', ...endpoint, ...tableSettings(target), ...dataDir };
};

/** The AWS SDK's own errors when no DynamoDB endpoint is set and AWS is not configured either. */
const awsUnconfigured = (e: unknown, dataDir: string): ConfigError | undefined => {
  const err = e as { name?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : '';
  const missing = /region is missing/i.test(message)
    ? 'no AWS region (AWS_REGION)'
    : err?.name === 'CredentialsProviderError'
      ? `no AWS credentials (${message})`
      : undefined;
  if (!missing) return undefined;
  const local = embeddedDynamoDbEndpoint(dataDir);
  return new ConfigError(
    `migrate --to dynamodb: AWS_ENDPOINT_URL_DYNAMODB is not set, so the target is DynamoDB on AWS, and the AWS SDK found ${missing}. ` +
      `For DynamoDB Local, set its address: ${
        local
          ? `the one of this data dir runs on ${local}: AWS_ENDPOINT_URL_DYNAMODB=${local} c360 migrate --to dynamodb`
          : 'AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:<port> (`C360_STORE=dynamodb npm start` starts one for this data dir and prints it)'
      }. For AWS, set AWS_REGION and credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
  );
};

/** The bin's `migrate`: source from the environment (and the data dir's secrets), target from it plus the request. */
export const migrateFromEnv = async (source: Config, env: NodeJS.ProcessEnv, request: MigrateRequest): Promise<MigrateResult> => {
  const overrides = request.to === 'sqlite' ? { C360_STORE: 'sqlite', C360_SQLITE_FILE: resolve(request.file ?? '') } : { C360_STORE: 'dynamodb' };
  const target = targetConfig(source, loadConfig({ ...env, ...overrides }));
  let report: MigrationReport;
  try {
    report = await runMigration(source, target, request.tenant, { resume: request.resume, onProgress: request.onProgress, actor: request.actor });
  } catch (e) {
    throw (target.store === 'dynamodb' && !target.dynamoEndpoint && awsUnconfigured(e, target.dataDir)) || e;
  }
  return { ...report, env: startSettings(target, env) };
};
