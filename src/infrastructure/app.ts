import 'reflect-metadata';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { Core } from '../application/core.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { syncIntake, type CallIntake } from '../application/ingest/intake.js';
import type { KinesisConsumer } from '../adapters/kinesis/kinesis.consumer.js';
import type { Authenticator } from '../application/ports/access.port.js';
import { DynamoDbCheckpoints, MemoryCheckpoints, type Checkpoints } from '../adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { DynamoDbStreamsPoller } from '../adapters/dynamodb/dynamodb.streams-poller.js';
import { DynamoDbStreamsProjector } from '../adapters/dynamodb/dynamodb.streams-projector.js';
import { ensureTables } from '../adapters/dynamodb/dynamodb.tables.js';
import type { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { ConfigError, type Config } from './config.js';
import { awsClientConfig, buildContainer, sourceFor } from './container.js';
import { TOKENS } from './tokens.js';

// One running instance of the core with its driving-side needs (credentials, intake, background
// consumers). Every entry point (npm start, the CLI, each Lambda) builds exactly one.

export type App = {
  readonly config: Config;
  readonly core: Core;
  readonly intake: CallIntake;
  readonly auth: Authenticator;
  readonly metrics: MemoryMetrics;
  readonly sourceOf: (tenant: string, name: string) => IngestSource;
  /** the DynamoDB Streams projector core (Lambda shape); undefined on other stores */
  readonly streamsProjector?: DynamoDbStreamsProjector | undefined;
  /**
   * starts what runs beside the API: the Streams poller when views are projected from the stream,
   * the Kinesis consumer when ingest is queued (async mode)
   */
  startBackground(): Promise<void>;
  /** waits until background consumers have nothing left to do (tests, CLI jobs) */
  drainBackground(): Promise<void>;
  close(): Promise<void>;
};

export type AppOptions = {
  /** create missing tables first; default: only against a local endpoint, never AWS itself */
  readonly createTables?: boolean | undefined;
  /** in async mode, also consume the stream in this process (npm start); Lambda leaves it to its kinesis function */
  readonly kinesisConsumer?: boolean | undefined;
};

export const buildApp = async (config: Config, options: AppOptions = {}): Promise<App> => {
  if (config.store !== 'memory' && config.claimSecretGenerated) {
    throw new ConfigError('C360_CLAIM_SECRET: required for a persistent store (claim keys must stay the same across restarts)');
  }
  const container = buildContainer(config);
  const core = container.get(TOKENS.Core);
  const sourceOf = (_tenant: string, name: string) => sourceFor(config, name);
  const closers: (() => Promise<void> | void)[] = [];
  let streamsProjector: DynamoDbStreamsProjector | undefined;
  let poller: DynamoDbStreamsPoller | undefined;
  const stopConsumer = () => consumer?.stop();

  if (config.store !== 'memory') {
    const client = container.get(TOKENS.DynamoDbClient);
    closers.push(() => client.destroy());
    closers.push(() => container.get(TOKENS.DynamoDbStreamsClient).destroy());
    if (options.createTables ?? config.createTables ?? config.dynamoEndpoint !== undefined) await ensureTables(client, { ...(config.store === 'dynamodb' ? { events: config.tables.events } : {}), views: config.tables.views, keys: config.tables.keys, quarantine: config.tables.quarantine, audit: config.tables.audit, ledger: config.tables.ledger });
    if (config.store === 'dynamodb') {
      streamsProjector = new DynamoDbStreamsProjector(core.projector, container.get(TOKENS.ReadModelStore), undefined, core.publishChanges);
    }
  }

  const local = options.createTables ?? config.createTables ?? config.dynamoEndpoint !== undefined;
  const auth = container.get(TOKENS.Authenticator);
  let intake: CallIntake = syncIntake(core.ingest);
  let consumer: KinesisConsumer | undefined;
  if (config.ingestMode === 'async') {
    // loaded only in async mode, so the Lambda bundles that never queue do not carry it
    const [{ QueuedIntake }, { lazyKinesisClient }, { KinesisConsumer }, { kinesisIngestHandler }, { KinesisIngestQueue }, { encodeKinesisCall }, { ensureStream }] = await Promise.all([
      import('../application/ingest/queued-intake.js'),
      import('../adapters/kinesis/kinesis.client.js'),
      import('../adapters/kinesis/kinesis.consumer.js'),
      import('../adapters/kinesis/kinesis.ingest.js'),
      import('../adapters/kinesis/kinesis.producer.js'),
      import('../adapters/kinesis/kinesis.record.js'),
      import('../adapters/kinesis/kinesis.streams.js'),
    ]);
    const stream = config.kinesisStream!;
    const kinesis = lazyKinesisClient(awsClientConfig(config.kinesisEndpoint));
    closers.push(() => kinesis().destroy());
    if (local || config.kinesisEndpoint) await ensureStream(kinesis(), stream, 2);
    intake = new QueuedIntake({ queue: new KinesisIngestQueue(kinesis, { streamName: stream }), encode: encodeKinesisCall, ingest: core.ingest, ports: core.ports });
    if (options.kinesisConsumer ?? true) {
      const checkpoints: Checkpoints = config.store === 'memory' ? new MemoryCheckpoints() : new DynamoDbCheckpoints(container.get(TOKENS.DynamoDbClient), config.tables.views, 'kinesis-ingest');
      consumer = new KinesisConsumer(kinesis, kinesisIngestHandler(core, sourceOf, { auth, defaultTenant: config.tenant }), {
        streamName: stream,
        checkpoints,
        onError: (e) => console.warn(`kinesis consumer: ${(e as Error).message}`),
      });
    }
  }

  const app: App = {
    config,
    core,
    intake,
    auth,
    metrics: container.get(TOKENS.Metrics) as MemoryMetrics,
    sourceOf,
    streamsProjector,
    async startBackground() {
      if (consumer && !closers.includes(stopConsumer)) {
        consumer.start();
        closers.unshift(stopConsumer);
      }
      if (config.projection !== 'streams' || !streamsProjector || poller) return;
      const client = container.get(TOKENS.DynamoDbClient);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: config.tables.events }));
      if (!Table?.LatestStreamArn) throw new ConfigError(`C360_EVENTS_TABLE: table ${config.tables.events} has no stream; enable NEW_IMAGE streams on it`);
      poller = new DynamoDbStreamsPoller(container.get(TOKENS.DynamoDbStreamsClient), streamsProjector, {
        streamArn: Table.LatestStreamArn,
        checkpoints: new DynamoDbCheckpoints(client, config.tables.views),
        onError: (e) => console.warn(`streams poller: ${(e as Error).message}`),
      });
      poller.start();
      closers.unshift(() => poller?.stop());
    },
    async drainBackground() {
      if (consumer) {
        // drain polls by itself; it must not race the running loop over the same shards
        const running = closers.includes(stopConsumer);
        if (running) await consumer.stop();
        await consumer.drain();
        if (running) consumer.start();
      }
      await poller?.drain();
    },
    async close() {
      for (const close of closers.splice(0)) await close();
    },
  };
  return app;
};
