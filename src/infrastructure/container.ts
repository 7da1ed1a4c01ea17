import { Container, type ResolutionContext } from 'inversify';
import type { Quarantine } from '../application/ports/quarantine.port.js';
import { EncryptedQuarantine } from '../adapters/crypto/encrypted-quarantine.js';
import { createKmsClient, KmsMasterKey } from '../adapters/crypto/kms.master-key.js';
import { DynamoDbAuditLog } from '../adapters/dynamodb/dynamodb.audit-log.js';
import { DynamoDbErasureLedger } from '../adapters/dynamodb/dynamodb.erasure-ledger.js';
import { createSnsClient } from '../adapters/sns/sns.client.js';
import { SnsIdentityFeed } from '../adapters/sns/sns.identity-feed.js';
import { SnsNotifier } from '../adapters/sns/sns.notifier.js';
import { DynamoDbOutbox } from '../adapters/dynamodb/dynamodb.outbox.js';
import { MemoryNotifier } from '../adapters/memory/memory.notifier.js';
import { MemoryOutbox } from '../adapters/memory/memory.outbox.js';
import type { EngagementOptions } from '../application/engagement/engagement.use-case.js';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createCore } from '../application/core.js';
import type { CorePorts } from '../application/deps.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { StaticAuthenticator } from '../adapters/config/static-credentials.js';
import { StaticTenantSettings } from '../adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, SystemClock, UuidV7Generator } from '../adapters/crypto/node-crypto.js';
import { LocalMasterKey, MasterKeyring } from '../adapters/crypto/master-key.js';
import { createDynamoDbClient } from '../adapters/dynamodb/dynamodb.client.js';
import { DynamoDbKeyStore } from '../adapters/dynamodb/dynamodb.key-store.js';
import { DynamoDbQuarantine } from '../adapters/dynamodb/dynamodb.quarantine.js';
import { DynamoDbEventStore } from '../adapters/dynamodb/dynamodb.event-store.js';
import { DynamoDbReadModelStore } from '../adapters/dynamodb/dynamodb.read-model-store.js';
import { DynamoDbSnapshotStore } from '../adapters/dynamodb/dynamodb.snapshot-store.js';
import { createEventStoreDbClient } from '../adapters/eventstoredb/eventstoredb.client.js';
import { EventStoreDbEventStore } from '../adapters/eventstoredb/eventstoredb.event-store.js';
import { MemoryAuditLog } from '../adapters/memory/memory.audit-log.js';
import { MemoryErasureLedger } from '../adapters/memory/memory.erasure-ledger.js';
import { MemoryEventStore } from '../adapters/memory/memory.event-store.js';
import { MemoryKeyStore } from '../adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../adapters/memory/memory.read-model-store.js';
import { MemorySnapshotStore } from '../adapters/memory/memory.snapshot-store.js';
import { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { SqliteAuditLog } from '../adapters/sqlite/sqlite.audit-log.js';
import { SqliteDatabase } from '../adapters/sqlite/sqlite.database.js';
import { SqliteErasureLedger } from '../adapters/sqlite/sqlite.erasure-ledger.js';
import { SqliteEventStore } from '../adapters/sqlite/sqlite.event-store.js';
import { SqliteKeyStore } from '../adapters/sqlite/sqlite.key-store.js';
import { SqliteOutbox } from '../adapters/sqlite/sqlite.outbox.js';
import { SqliteQuarantine } from '../adapters/sqlite/sqlite.quarantine.js';
import { SqliteReadModelStore } from '../adapters/sqlite/sqlite.read-model-store.js';
import { SqliteSnapshotStore } from '../adapters/sqlite/sqlite.snapshot-store.js';
import { ConfigError, scoreConfigFor, type Config } from './config.js';
import { loadCredentials } from './credentials.js';
import { TOKENS } from './tokens.js';

// The composition root: the only place that knows which adapter serves which port. Everything is
// a singleton built on first use, so a Lambda that never reads the log never creates its client.

export const buildContainer = (config: Config): Container => {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind(TOKENS.Config).toConstantValue(config);
  c.bind(TOKENS.Clock).toConstantValue(new SystemClock());
  c.bind(TOKENS.IdGenerator).toConstantValue(new UuidV7Generator());
  c.bind(TOKENS.Cipher).toConstantValue(new AesGcmCipher());
  c.bind(TOKENS.Hasher).toConstantValue(new HmacHasher(() => config.claimSecret));
  c.bind(TOKENS.Metrics).toConstantValue(new MemoryMetrics());
  c.bind(TOKENS.Authenticator).toDynamicValue(() => new StaticAuthenticator(loadCredentials(config)));
  c.bind(TOKENS.TenantSettings).toConstantValue(
    new StaticTenantSettings({
      identityRules: config.identityRules,
      scoreConfig: scoreConfigFor(config),
      phoneRegion: config.phoneRegion,
      idempotencyTtlMs: config.idempotencyTtlMs,
    }),
  );
  switch (config.store) {
    case 'memory':
      bindMemory(c);
      break;
    case 'dynamodb':
      bindDynamoDb(c, config);
      break;
    case 'sqlite':
      bindSqlite(c, config);
      c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new SqliteEventStore(ctx.get(TOKENS.Sqlite), { clock: ctx.get(TOKENS.Clock), groupCommit: config.groupCommit }));
      break;
    case 'eventstoredb':
      // the alternative event log; keys, views, snapshots and the quarantine in the embedded file,
      // so nothing but the EventStoreDB server has to run
      bindSqlite(c, config);
      c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new EventStoreDbEventStore(createEventStoreDbClient(config.esdbConnectionString!), { clock: ctx.get(TOKENS.Clock) }));
      break;
  }
  c.bind(TOKENS.Core).toDynamicValue((ctx) => {
    const ports: CorePorts = {
      store: ctx.get(TOKENS.EventStore),
      readModels: ctx.get(TOKENS.ReadModelStore),
      keys: ctx.get(TOKENS.KeyStore),
      cipher: ctx.get(TOKENS.Cipher),
      hasher: ctx.get(TOKENS.Hasher),
      clock: ctx.get(TOKENS.Clock),
      ids: ctx.get(TOKENS.IdGenerator),
      quarantine: ctx.get(TOKENS.Quarantine),
      settings: ctx.get(TOKENS.TenantSettings),
      metrics: ctx.get(TOKENS.Metrics),
      snapshots: ctx.get(TOKENS.SnapshotStore),
      audit: ctx.get(TOKENS.AuditLog),
      ledger: ctx.get(TOKENS.ErasureLedger),
    };
    const sns = createSnsClient(awsClientConfig(config.snsEndpoint));
    const feed = config.identityTopicArn ? new SnsIdentityFeed(sns, { topicArn: config.identityTopicArn }) : undefined;
    return createCore(ports, { inlineProjection: config.projection === 'inline', sourceOf: (_tenant, name) => sourceFor(config, name), feed, engagement: engagementFor(ctx, config, sns) });
  });
  return c;
};

/** Offers from the config; notifications on SNS when a topic is set, else kept in memory; the outbox beside the event store. */
const engagementFor = (ctx: ResolutionContext, config: Config, sns: ReturnType<typeof createSnsClient>): EngagementOptions | undefined => {
  if (!config.offers) return undefined;
  // one try while a call waits (inline); the outbox relay retries with backoff, so nothing is lost
  const notifier = config.snsTopicArn ? new SnsNotifier(sns, { topicArn: config.snsTopicArn, maxAttempts: 1 }) : new MemoryNotifier();
  const outbox =
    config.store === 'memory'
      ? new MemoryOutbox()
      : config.store === 'dynamodb'
        ? new DynamoDbOutbox(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.outbox ?? `${config.tables.events}-outbox` })
        : new SqliteOutbox(ctx.get(TOKENS.Sqlite));
  return { offers: config.offers, notifier, outbox };
};

const bindMemory = (c: Container): void => {
  c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new MemoryEventStore(ctx.get(TOKENS.Clock)));
  c.bind(TOKENS.ReadModelStore).toDynamicValue(() => new MemoryReadModelStore());
  c.bind(TOKENS.KeyStore).toDynamicValue(() => new MemoryKeyStore());
  c.bind(TOKENS.Quarantine).toDynamicValue((ctx) => encrypted(ctx, new MemoryQuarantine({ retentionMs: ctx.get(TOKENS.Config).quarantineRetentionMs, clock: ctx.get(TOKENS.Clock) })));
  c.bind(TOKENS.SnapshotStore).toDynamicValue(() => new MemorySnapshotStore());
  c.bind(TOKENS.AuditLog).toDynamicValue(() => new MemoryAuditLog());
  c.bind(TOKENS.ErasureLedger).toDynamicValue(() => new MemoryErasureLedger());
};

/** The embedded store: one SQLite file under the data dir, opened in this process. */
const bindSqlite = (c: Container, config: Config): void => {
  c.bind(TOKENS.Sqlite).toDynamicValue(() => new SqliteDatabase({ path: config.sqliteFile }));
  // views, snapshots and data keys need no fsync of their own (see SqliteDatabaseOptions)
  c.bind(TOKENS.SqliteDerived).toDynamicValue((ctx) => {
    ctx.get(TOKENS.Sqlite); // opened first: it creates the file and sets WAL mode
    return new SqliteDatabase({ path: config.sqliteFile, synchronous: 'NORMAL' });
  });
  const db = (ctx: ResolutionContext) => ctx.get(TOKENS.Sqlite);
  c.bind(TOKENS.ReadModelStore).toDynamicValue((ctx) => new SqliteReadModelStore(ctx.get(TOKENS.SqliteDerived)));
  c.bind(TOKENS.SnapshotStore).toDynamicValue((ctx) => new SqliteSnapshotStore(ctx.get(TOKENS.SqliteDerived)));
  c.bind(TOKENS.AuditLog).toDynamicValue((ctx) => new SqliteAuditLog(db(ctx)));
  c.bind(TOKENS.ErasureLedger).toDynamicValue((ctx) => new SqliteErasureLedger(db(ctx)));
  // A new key needs no fsync of its own: it is written before the commit that uses it, and that
  // commit's fsync (FULL, same WAL) makes it durable first. An erasure's destroyed keys are synced
  // by the checkpoint its receipt ends with.
  c.bind(TOKENS.KeyStore).toDynamicValue((ctx) => new SqliteKeyStore(ctx.get(TOKENS.SqliteDerived), { keyring: keyringFor(config), clock: ctx.get(TOKENS.Clock) }));
  c.bind(TOKENS.Quarantine).toDynamicValue((ctx) => encrypted(ctx, new SqliteQuarantine(db(ctx), { retentionMs: config.quarantineRetentionMs, clock: ctx.get(TOKENS.Clock) })));
};

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/;

/**
 * On AWS the SDK's own chain gives region, endpoint and credentials. A local emulator needs none,
 * so it gets placeholders and the SDK never probes instance metadata for them.
 */
export const awsClientConfig = (endpoint: string | undefined) => {
  if (!endpoint) return {};
  const local = LOOPBACK.test(endpoint) && !process.env['AWS_ACCESS_KEY_ID'] && !process.env['AWS_PROFILE'];
  return {
    endpoint,
    region: process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
};

const bindDynamoDb = (c: Container, config: Config): void => {
  c.bind(TOKENS.DynamoDbClient).toDynamicValue(() => createDynamoDbClient(awsClientConfig(config.dynamoEndpoint)));
  c.bind(TOKENS.DynamoDbStreamsClient).toDynamicValue(() => new DynamoDBStreamsClient(awsClientConfig(config.dynamoEndpoint)));
  c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new DynamoDbEventStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.events, clock: ctx.get(TOKENS.Clock) }));
  c.bind(TOKENS.ReadModelStore).toDynamicValue((ctx) => new DynamoDbReadModelStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.views }));
  c.bind(TOKENS.SnapshotStore).toDynamicValue((ctx) => new DynamoDbSnapshotStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.events }));
  c.bind(TOKENS.AuditLog).toDynamicValue((ctx) => new DynamoDbAuditLog(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.audit }));
  c.bind(TOKENS.ErasureLedger).toDynamicValue((ctx) => new DynamoDbErasureLedger(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.ledger }));
  c.bind(TOKENS.KeyStore).toDynamicValue((ctx) => new DynamoDbKeyStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.keys, keyring: keyringFor(config), clock: ctx.get(TOKENS.Clock) }));
  c.bind(TOKENS.Quarantine).toDynamicValue((ctx) =>
    encrypted(ctx, new DynamoDbQuarantine(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.quarantine, retentionMs: config.quarantineRetentionMs, clock: ctx.get(TOKENS.Clock) })),
  );
};

/** Quarantined payloads are personal data: encrypted under the tenant's quarantine key, and expiring. */
const encrypted = (ctx: ResolutionContext, inner: Quarantine): Quarantine => new EncryptedQuarantine(inner, ctx.get(TOKENS.KeyStore), ctx.get(TOKENS.Cipher));

const keyringFor = (config: Config): MasterKeyring => {
  if (config.kmsKeyId) {
    // production: KMS wraps; local keys still open what they wrapped while it is re-wrapped
    const previous = [config.masterKey, ...config.previousMasterKeys].filter((k): k is string => k !== undefined);
    return new MasterKeyring(
      new KmsMasterKey(createKmsClient(awsClientConfig(undefined)), config.kmsKeyId),
      previous.map((k) => LocalMasterKey.fromBase64(k, 'C360_MASTER_KEY')),
    );
  }
  if (!config.masterKey) throw new ConfigError('C360_MASTER_KEY: required for a persistent store (it wraps every customer data key); generate one with `openssl rand -base64 32`');
  try {
    return new MasterKeyring(
      LocalMasterKey.fromBase64(config.masterKey, 'C360_MASTER_KEY'),
      config.previousMasterKeys.map((k) => LocalMasterKey.fromBase64(k, 'C360_MASTER_KEYS_PREVIOUS')),
    );
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
};

export const sourceFor = (config: Config, name: string): IngestSource => {
  const s = config.sources[name];
  return { name, priority: s?.priority ?? 0, channel: s?.channel ?? 'web' };
};
