import { Container, type ResolutionContext, type ServiceIdentifier } from 'inversify';
import type { Quarantine } from '../application/ports/quarantine.port.js';
import { EncryptedQuarantine } from '../adapters/crypto/encrypted-quarantine.js';
import type { EngagementOptions } from '../application/engagement/engagement.use-case.js';
import { claimSecretGuarded } from '../application/claim-secret.js';
import { createCore } from '../application/core.js';
import type { EventStore } from '../application/ports/event-store.port.js';
import type { CorePorts } from '../application/deps.js';
import type { LakeEraser } from '../application/ports/lake.port.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { sourceIn } from '../application/ingest/sources.js';
import { isLoopbackEndpoint, localCredentials, regionOrDefault } from '../adapters/aws/local-endpoint.js';
import { StaticAuthenticator } from '../adapters/config/static-credentials.js';
import type { Authenticator } from '../application/ports/access.port.js';
import { StaticTenantSettings } from '../adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, SystemClock, UuidV7Generator } from '../adapters/crypto/node-crypto.js';
import { LocalMasterKey, MasterKeyring } from '../adapters/crypto/master-key.js';
import { MemoryNotifier } from '../adapters/memory/memory.notifier.js';
import { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { ConfigError, scoreConfigFor, type Config } from './config.js';
import { loadCredentials } from './credentials.js';
import { TOKENS } from './tokens.js';

// The composition root: the only place that knows which adapter serves which port, and which use
// cases run over them. Everything is a singleton built on first use, the use cases included (see
// createCore), so a Lambda builds only what its handler touches: the kinesis function never
// builds a view query, an erasure or the engagement outbox, the streams function never the
// authenticator or the ingest use case.
// Only the configured store's adapters are loaded (stores/*.ts), and the KMS and SNS clients only
// when configured: a Lambda cold start compiles and runs none of the others.

type Kms = typeof import('../adapters/crypto/kms.master-key.js');

export type ContainerOptions = {
  /** who may call, instead of the configured credentials (the Lambda functions' rotating Secrets Manager list) */
  readonly authenticator?: Authenticator | undefined;
  /** called once for each piece when it is built (its token's name): tests prove an entry point builds only what it uses */
  readonly onBuilt?: ((piece: keyof typeof TOKENS) => void) | undefined;
  /** the analytics lake erasure reaches, where this process writes one (the server) */
  readonly lake?: LakeEraser | undefined;
};

/** The ports, each resolved from the container when first read (and then kept: singletons). */
const lazyPorts = (c: Container, lake?: LakeEraser): CorePorts => {
  const port = <T>(token: ServiceIdentifier<T>) => ({ enumerable: true, get: () => c.get(token) });
  // the first commit records the claim secret's fingerprint in a store that has none, and every
  // commit and claim read refuses a secret the store does not record (claim-secret.ts): on a
  // Lambda, one read of the keys table when its first call needs claims, never at the cold start
  let store: EventStore | undefined;
  return Object.defineProperties({} as CorePorts, {
    store: {
      enumerable: true,
      get: () =>
        (store ??= claimSecretGuarded(
          c.get(TOKENS.EventStore),
          // the key store is built by the first check, not with the event store
          {
            get keys() {
              return c.get(TOKENS.KeyStore);
            },
            hasher: c.get(TOKENS.Hasher),
          },
          'C360_CLAIM_SECRET',
        )),
    },
    readModels: port(TOKENS.ReadModelStore),
    keys: port(TOKENS.KeyStore),
    cipher: port(TOKENS.Cipher),
    hasher: port(TOKENS.Hasher),
    clock: port(TOKENS.Clock),
    ids: port(TOKENS.IdGenerator),
    quarantine: port(TOKENS.Quarantine),
    settings: port(TOKENS.TenantSettings),
    metrics: port(TOKENS.Metrics),
    snapshots: port(TOKENS.SnapshotStore),
    audit: port(TOKENS.AuditLog),
    ledger: port(TOKENS.ErasureLedger),
    lake: { enumerable: true, value: lake },
  });
};

export const buildContainer = async (config: Config, options: ContainerOptions = {}): Promise<Container> => {
  const kms = config.kmsKeyId ? await import('../adapters/crypto/kms.master-key.js') : undefined;
  const sns = config.identityTopicArn || config.snsTopicArn ? await import('./stores/sns.js') : undefined;
  let kept: MasterKeyring | undefined;
  const keyring = () => (kept ??= keyringFor(config, kms));
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind(TOKENS.Config).toConstantValue(config);
  c.bind(TOKENS.Clock).toConstantValue(new SystemClock());
  c.bind(TOKENS.IdGenerator).toConstantValue(new UuidV7Generator());
  c.bind(TOKENS.Cipher).toConstantValue(new AesGcmCipher());
  c.bind(TOKENS.Hasher).toConstantValue(new HmacHasher(() => config.claimSecret));
  c.bind(TOKENS.Metrics).toConstantValue(new MemoryMetrics());
  c.bind(TOKENS.Authenticator).toDynamicValue(() => options.authenticator ?? new StaticAuthenticator(loadCredentials(config)));
  c.bind(TOKENS.TenantSettings).toConstantValue(
    new StaticTenantSettings({
      identityRules: config.identityRules,
      scoreConfig: scoreConfigFor(config),
      phoneRegion: config.phoneRegion,
      idempotencyTtlMs: config.idempotencyTtlMs,
      // auto-merge is off unless the tenant is listed
      tenants: Object.fromEntries((config.autoMergeTenants ?? []).map((t) => [t, { autoMerge: true }])),
    }),
  );
  let outbox: (ctx: ResolutionContext) => EngagementOptions['outbox'];
  switch (config.store) {
    case 'memory': {
      const m = await import('./stores/memory.js');
      bindMemory(c, m);
      outbox = () => new m.MemoryOutbox();
      break;
    }
    case 'dynamodb': {
      const m = await import('./stores/dynamodb.js');
      bindDynamoDb(c, config, m, keyring);
      outbox = (ctx) => new m.DynamoDbOutbox(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.outbox ?? `${config.tables.events}-outbox` });
      break;
    }
    case 'sqlite': {
      const m = await import('./stores/sqlite.js');
      bindSqlite(c, config, m, keyring);
      c.bind(TOKENS.EventStore).toDynamicValue(
        (ctx) => new m.SqliteEventStore(ctx.get(TOKENS.Sqlite), { clock: ctx.get(TOKENS.Clock), groupCommit: config.groupCommit }),
      );
      outbox = (ctx) => new m.SqliteOutbox(ctx.get(TOKENS.Sqlite));
      break;
    }
    case 'eventstoredb': {
      // the alternative event log; keys, views, snapshots and the quarantine in the embedded file,
      // so nothing but the EventStoreDB server has to run
      const [m, esdb] = await Promise.all([import('./stores/sqlite.js'), import('./stores/eventstoredb.js')]);
      bindSqlite(c, config, m, keyring);
      c.bind(TOKENS.EventStoreDbClient).toDynamicValue(() => esdb.createEventStoreDbClient(config.esdbConnectionString!));
      c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new esdb.EventStoreDbEventStore(ctx.get(TOKENS.EventStoreDbClient), { clock: ctx.get(TOKENS.Clock) }));
      outbox = (ctx) => new m.SqliteOutbox(ctx.get(TOKENS.Sqlite));
      break;
    }
  }
  // SNS: one client for the identity feed and the notifier, created when the first of them is
  c.bind(TOKENS.SnsClient).toDynamicValue(() => sns!.createSnsClient(awsClientConfig(config.snsEndpoint)));
  if (sns && config.identityTopicArn)
    c.bind(TOKENS.IdentityFeed).toDynamicValue((ctx) => new sns.SnsIdentityFeed(ctx.get(TOKENS.SnsClient), { topicArn: config.identityTopicArn! }));
  // one try while a call waits (inline); the outbox relay retries with backoff, so nothing is lost
  c.bind(TOKENS.Notifier).toDynamicValue((ctx) =>
    sns && config.snsTopicArn ? new sns.SnsNotifier(ctx.get(TOKENS.SnsClient), { topicArn: config.snsTopicArn, maxAttempts: 1 }) : new MemoryNotifier(),
  );
  c.bind(TOKENS.Outbox).toDynamicValue((ctx) => outbox(ctx));
  // The ports as the use cases see them: each adapter resolved on first read, so a use case that
  // is never built never opens its stores.
  c.bind(TOKENS.Ports).toDynamicValue(() => lazyPorts(c, options.lake));
  c.bind(TOKENS.Core).toDynamicValue((ctx) => {
    const offers = config.offers;
    // offers from the config; notifications on SNS when a topic is set, else kept in memory; the
    // outbox beside the event store: both built when engagement first decides or relays
    const engagement: EngagementOptions | undefined = offers && {
      get offers() {
        return offers();
      },
      get notifier() {
        return c.get(TOKENS.Notifier);
      },
      get outbox() {
        return c.get(TOKENS.Outbox);
      },
    };
    return createCore(ctx.get(TOKENS.Ports), {
      inlineProjection: config.projection === 'inline',
      sourceOf: (_tenant, name) => sourceFor(config, name),
      get feed() {
        return c.isBound(TOKENS.IdentityFeed) ? c.get(TOKENS.IdentityFeed) : undefined;
      },
      engagement,
      // not on EventStoreDB, which says it records one idempotency key per commit (alsoRecords)
      engagementInCommit: true,
      backupRetentionMs: config.backupRetentionDays > 0 ? config.backupRetentionDays * 86_400_000 : undefined,
    });
  });
  // A missing or malformed master key fails the start, not the first request that needs a data
  // key: a local keyring is checked (and kept) now; KMS's client is created on first use.
  if (config.store !== 'memory' && !config.kmsKeyId) keyring();
  if (options.onBuilt) {
    // every piece reports its construction (tests: which pieces an entry point builds)
    const onBuilt = options.onBuilt;
    for (const [name, token] of Object.entries(TOKENS))
      c.onActivation(token as ServiceIdentifier<unknown>, (_ctx, built) => {
        onBuilt(name as keyof typeof TOKENS);
        return built;
      });
  }
  return c;
};

const bindMemory = (c: Container, m: typeof import('./stores/memory.js')): void => {
  c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new m.MemoryEventStore(ctx.get(TOKENS.Clock)));
  c.bind(TOKENS.ReadModelStore).toDynamicValue(() => new m.MemoryReadModelStore());
  c.bind(TOKENS.KeyStore).toDynamicValue(() => new m.MemoryKeyStore());
  c.bind(TOKENS.Quarantine).toDynamicValue((ctx) =>
    encrypted(ctx, new m.MemoryQuarantine({ retentionMs: ctx.get(TOKENS.Config).quarantineRetentionMs, clock: ctx.get(TOKENS.Clock) })),
  );
  c.bind(TOKENS.SnapshotStore).toDynamicValue(() => new m.MemorySnapshotStore());
  c.bind(TOKENS.AuditLog).toDynamicValue(() => new m.MemoryAuditLog());
  c.bind(TOKENS.ErasureLedger).toDynamicValue(() => new m.MemoryErasureLedger());
};

/** The embedded store: one SQLite file under the data dir, opened in this process. */
const bindSqlite = (c: Container, config: Config, m: typeof import('./stores/sqlite.js'), keyring: () => MasterKeyring): void => {
  const { SqliteDatabase } = m;
  c.bind(TOKENS.Sqlite).toDynamicValue(() => new SqliteDatabase({ path: config.sqliteFile }));
  const db = (ctx: ResolutionContext) => ctx.get(TOKENS.Sqlite);
  // Everything on the log's one connection: in WAL mode a connection drops its page cache when
  // another one committed to the file, so with two connections each one's commits emptied the
  // other's cache. Views, snapshots and checkpoints need no fsync of their own: their transactions
  // run with synchronous NORMAL, and the next event commit's fsync covers them (see
  // SqliteDatabase.transaction).
  c.bind(TOKENS.ReadModelStore).toDynamicValue((ctx) => new m.SqliteReadModelStore(db(ctx)));
  c.bind(TOKENS.SnapshotStore).toDynamicValue((ctx) => new m.SqliteSnapshotStore(db(ctx)));
  c.bind(TOKENS.AuditLog).toDynamicValue((ctx) => new m.SqliteAuditLog(db(ctx)));
  c.bind(TOKENS.ErasureLedger).toDynamicValue((ctx) => new m.SqliteErasureLedger(db(ctx)));
  // A new key's insert skips its own fsync too (see SqliteKeyStore.insert); an erasure's destroyed
  // keys are synced by its closing checkpoint.
  c.bind(TOKENS.KeyStore).toDynamicValue((ctx) => new m.SqliteKeyStore(db(ctx), { keyring: keyring(), clock: ctx.get(TOKENS.Clock) }));
  c.bind(TOKENS.Quarantine).toDynamicValue((ctx) =>
    encrypted(ctx, new m.SqliteQuarantine(db(ctx), { retentionMs: config.quarantineRetentionMs, clock: ctx.get(TOKENS.Clock) })),
  );
};

/**
 * On AWS the SDK's own chain gives region, endpoint and credentials. A configured endpoint gets the
 * environment's region (else us-east-1), and a local emulator placeholder credentials, so the SDK
 * never probes instance metadata for them.
 */
export const awsClientConfig = (endpoint: string | undefined) => {
  if (!endpoint) return {};
  const credentials = isLoopbackEndpoint(endpoint) ? localCredentials() : undefined;
  return { endpoint, region: regionOrDefault(), ...(credentials ? { credentials } : {}) };
};

const bindDynamoDb = (c: Container, config: Config, m: typeof import('./stores/dynamodb.js'), keyring: () => MasterKeyring): void => {
  c.bind(TOKENS.StreamsProjector).toDynamicValue((ctx) => {
    const core = ctx.get(TOKENS.Core);
    return new m.DynamoDbStreamsProjector(core.projector, ctx.get(TOKENS.ReadModelStore), undefined, core.afterProject);
  });
  c.bind(TOKENS.DynamoDbClient).toDynamicValue(() => m.createDynamoDbClient(awsClientConfig(config.dynamoEndpoint)));
  c.bind(TOKENS.EventStore).toDynamicValue(
    (ctx) =>
      new m.DynamoDbEventStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.events, clock: ctx.get(TOKENS.Clock), settleMs: config.logSettleMs }),
  );
  c.bind(TOKENS.ReadModelStore).toDynamicValue((ctx) => new m.DynamoDbReadModelStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.views }));
  c.bind(TOKENS.SnapshotStore).toDynamicValue((ctx) => new m.DynamoDbSnapshotStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.events }));
  c.bind(TOKENS.AuditLog).toDynamicValue((ctx) => new m.DynamoDbAuditLog(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.audit }));
  c.bind(TOKENS.ErasureLedger).toDynamicValue((ctx) => new m.DynamoDbErasureLedger(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.ledger }));
  c.bind(TOKENS.KeyStore).toDynamicValue(
    (ctx) => new m.DynamoDbKeyStore(ctx.get(TOKENS.DynamoDbClient), { tableName: config.tables.keys, keyring: keyring(), clock: ctx.get(TOKENS.Clock) }),
  );
  c.bind(TOKENS.Quarantine).toDynamicValue((ctx) =>
    encrypted(
      ctx,
      new m.DynamoDbQuarantine(ctx.get(TOKENS.DynamoDbClient), {
        tableName: config.tables.quarantine,
        retentionMs: config.quarantineRetentionMs,
        clock: ctx.get(TOKENS.Clock),
      }),
    ),
  );
};

/** Quarantined payloads are personal data: encrypted under the tenant's quarantine key, and expiring. */
const encrypted = (ctx: ResolutionContext, inner: Quarantine): Quarantine => new EncryptedQuarantine(inner, ctx.get(TOKENS.KeyStore), ctx.get(TOKENS.Cipher));

const keyringFor = (config: Config, kms: Kms | undefined): MasterKeyring => {
  if (config.kmsKeyId && kms) {
    // production: KMS wraps; local keys still open what they wrapped while it is re-wrapped
    const previous = [config.masterKey, ...config.previousMasterKeys].filter((k): k is string => k !== undefined);
    return new MasterKeyring(
      new kms.KmsMasterKey(kms.createKmsClient(awsClientConfig(undefined)), config.kmsKeyId),
      previous.map((k) => LocalMasterKey.fromBase64(k, 'C360_MASTER_KEY')),
    );
  }
  if (!config.masterKey)
    throw new ConfigError('C360_MASTER_KEY: required for a persistent store (it wraps every customer data key); generate one with `openssl rand -base64 32`');
  try {
    return new MasterKeyring(
      LocalMasterKey.fromBase64(config.masterKey, 'C360_MASTER_KEY'),
      config.previousMasterKeys.map((k) => LocalMasterKey.fromBase64(k, 'C360_MASTER_KEYS_PREVIOUS')),
    );
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
};

export const sourceFor = (config: Config, name: string): IngestSource => sourceIn(config.sources, name);
