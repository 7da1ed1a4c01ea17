import type { LakeEraser } from '../application/ports/lake.port.js';
import type { Container } from 'inversify';
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { Core } from '../application/core.js';
import { MATCH_BOOK_EVENTS } from '../application/matching/match-book.projection.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { syncIntake, type CallIntake } from '../application/ingest/intake.js';
import type { KinesisConsumer } from '../adapters/kinesis/kinesis.consumer.js';
import type { Authenticator } from '../application/ports/access.port.js';
import type { Checkpoints } from '../adapters/dynamodb/dynamodb.stream-checkpoints.js';
import type { DynamoDbStreamsPoller } from '../adapters/dynamodb/dynamodb.streams-poller.js';
import type { DynamoDbStreamsProjector } from '../adapters/dynamodb/dynamodb.streams-projector.js';
import type { SqliteEventStore } from '../adapters/sqlite/sqlite.event-store.js';
import type { SqliteLogFollower } from '../adapters/sqlite/sqlite.log-follower.js';
import type { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { ConfigError, type Config } from './config.js';
import { realFile, serverOnDir, serverOnFile, type LockHolder } from './local/server-lock.js';
import { awsClientConfig, buildContainer, sourceFor, type ContainerOptions } from './container.js';
import { checkClaimSecretAtStart } from './claim-secret-check.js';
import { checkKeyring } from './keyring-check.js';
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
   * what the local Streams poller (startBackground) has refused for good since it started: how
   * many records, and the last one's reason code and time; undefined while it has refused none
   * (and where no poller runs). Nothing of the records themselves: /health reports it.
   */
  streamRefusals(): StreamRefusals | undefined;
  /**
   * starts what runs beside the API: the Streams poller when views are projected from the stream,
   * the Kinesis consumer when ingest is queued (async mode)
   */
  startBackground(): Promise<void>;
  /** waits until background consumers have nothing left to do (tests, CLI jobs) */
  drainBackground(): Promise<void>;
  close(): Promise<void>;
};

export type StreamRefusals = {
  readonly count: number;
  /** the code of the last refusal (UNREADABLE_EVENT_ITEM, UNDECODABLE_EVENT, PROJECTION_FAILED) */
  readonly lastReason: string;
  /** when it was refused (ms) */
  readonly lastAt: number;
};

export type AppOptions = {
  /** create missing tables first; default: only against a local endpoint, never AWS itself */
  readonly createTables?: boolean | undefined;
  /** in async mode, also consume the stream in this process (npm start); Lambda leaves it to its kinesis function */
  readonly kinesisConsumer?: boolean | undefined;
  /**
   * refuse to start (ConfigError; the server), or warn (the CLI), when the embedded store holds data
   * keys wrapped by a master key the keyring lacks; Lambda cold starts leave it out (see keyring-check.ts)
   */
  readonly checkMasterKeys?: boolean | { readonly warn: (message: string) => void } | undefined;
  /**
   * refuse to start (ConfigError) when the store records another claim secret than
   * C360_CLAIM_SECRET: 'record' (the server) also records it in a store that records none, 'compare'
   * (the CLI) leaves that to the first write; Lambda cold starts leave it out (see claim-secret-check.ts)
   */
  readonly checkClaimSecret?: 'record' | 'compare' | undefined;
};

/** the longest the match book waits for a quiet log (a continuous load by another process) before it catches up anyway */
export const BOOK_MAX_LAG_MS = 120_000;

/** Where the Kinesis ingest consumer keeps its place: beside the store, so a restart resumes there. */
const kinesisCheckpoints = async (config: Config, container: Container): Promise<() => Checkpoints> => {
  switch (config.store) {
    case 'dynamodb': {
      const { DynamoDbCheckpoints } = await import('./stores/dynamodb.js');
      return () => new DynamoDbCheckpoints(container.get(TOKENS.DynamoDbClient), config.tables.views, 'kinesis-ingest');
    }
    case 'sqlite':
    case 'eventstoredb': {
      const { SqliteCheckpoints, SqliteShardCheckpoints } = await import('./stores/sqlite.js');
      return () => new SqliteShardCheckpoints(new SqliteCheckpoints(container.get(TOKENS.Sqlite)), 'kinesis-ingest');
    }
    case 'memory': {
      const { MemoryCheckpoints } = await import('../adapters/dynamodb/dynamodb.stream-checkpoints.js');
      return () => new MemoryCheckpoints();
    }
  }
};

/**
 * A lake written by a schedule elsewhere (the lake function every N minutes): an erasure's rows go
 * at the first run after it, which starts within N minutes and ends within N more (its timeout is
 * below the interval), so the receipt's bound is 2N; the run marks the receipt clean. A tenant the
 * schedule does not cover has no lake there, and its receipts no bound.
 */
const scheduledLake = (minutes: number | undefined, tenants: readonly string[] | undefined): LakeEraser | undefined =>
  minutes === undefined
    ? undefined
    : { erase: async (tenant) => (tenants === undefined || tenants.includes(tenant) ? { cleanWithinMs: 2 * minutes * 60_000 } : undefined) };

export const buildApp = async (config: Config, options: AppOptions & ContainerOptions = {}): Promise<App> => {
  if (config.store !== 'memory' && config.claimSecretGenerated) {
    throw new ConfigError('C360_CLAIM_SECRET: required for a persistent store (claim keys must stay the same across restarts)');
  }
  const container = await buildContainer(config, { ...options, lake: options.lake ?? scheduledLake(config.lakeScheduleMinutes, config.lakeScheduleTenants) });
  // resolved on first use, like everything in the container: an entry point builds what it touches
  const core = () => container.get(TOKENS.Core);
  const sourceOf = (_tenant: string, name: string) => sourceFor(config, name);
  const closers: (() => Promise<void> | void)[] = [];
  let poller: DynamoDbStreamsPoller | undefined;
  let refusals: StreamRefusals | undefined;
  let streamsClient: { destroy(): void } | undefined;
  const stopConsumer = () => consumer?.stop();
  const stopRelay = () => core().engagement.relay.stop();

  if (config.store === 'sqlite' || config.store === 'eventstoredb') closers.push(() => container.get(TOKENS.Sqlite).close());
  if (config.store === 'eventstoredb') {
    // the client is disposed (its reads cancelled, its connection closed) only if it was ever created
    const { disposeWithin } = await import('./stores/eventstoredb.js');
    let client: EventStoreDBClient | undefined;
    container.onActivation(TOKENS.EventStoreDbClient, (_ctx, created) => {
      client = created;
      return created;
    });
    closers.push(() => (client ? disposeWithin(client) : undefined));
  }
  // On the embedded store the log follower runs beside every process. With inline projection (the
  // server: read-your-writes) it projects what other processes (a CLI job) wrote and what a crash
  // left between commit and projection; with log projection (CLI jobs) it is the projector, a page
  // at a time, and runs the core's after-projection hooks (identity feed, engagement) too.
  let follower: SqliteLogFollower | undefined;
  // The match book has a follower of its own on the embedded store, with its own checkpoint, never
  // ahead of the views follower's (it reads the views): it runs once the views have caught up and
  // nothing new came in for a tick, or when the book has waited BOOK_MAX_LAG_MS, so a bulk load by
  // another process (a seed, an import) is not slowed by it, and the book catches up in large
  // batches right after (each customer scored once per batch, however many of its calls it holds).
  // The server's own commits kept the book inline (real time) and are skipped, as by the views.
  let bookFollower: SqliteLogFollower | undefined;
  if (config.store === 'sqlite') {
    const { SqliteCheckpoints, SqliteLogFollower } = await import('./stores/sqlite.js');
    const store = container.get(TOKENS.EventStore) as SqliteEventStore;
    const checkpoints = new SqliteCheckpoints(container.get(TOKENS.Sqlite));
    const views: SqliteLogFollower = new SqliteLogFollower(store, checkpoints, core().projector, container.get(TOKENS.ReadModelStore), {
      onRejected: (rejected) =>
        console.warn(JSON.stringify({ level: 'warn', msg: 'log follower: events it cannot project (skipped; a rebuild reports them again)', rejected })),
      onError: (e) => console.warn(JSON.stringify({ level: 'warn', msg: `log follower: ${(e as Error).message}` })),
      skipLocalCommits: config.projection === 'inline',
      localSettled: () => core().settled(),
      // a job's events, and what a crash left, get the after-projection hooks wherever they are
      // projected (the server's own commits ran them inline, and are skipped)
      afterProject: core().afterProjectButBook,
      othersAt: (): number => book.position(),
    });
    let seen = -1;
    let waitingSince = Date.now();
    const bookDue = (): boolean => {
      const at = views.position();
      const quiet = at === seen && views.caughtUp();
      seen = at;
      if (book.position() >= at || (!quiet && Date.now() - waitingSince < BOOK_MAX_LAG_MS)) {
        if (book.position() >= at) waitingSince = Date.now();
        return false;
      }
      waitingSince = Date.now();
      return true;
    };
    const book: SqliteLogFollower = new SqliteLogFollower(store, checkpoints, core().projector, container.get(TOKENS.ReadModelStore), {
      name: 'match-book',
      views: false,
      types: MATCH_BOOK_EVENTS,
      pageSize: 5_000,
      upTo: (): number => views.position(),
      ready: bookDue,
      onError: (e) => console.warn(JSON.stringify({ level: 'warn', msg: `match book follower: ${(e as Error).message}` })),
      skipLocalCommits: config.projection === 'inline',
      localSettled: () => core().settled(),
      afterProject: core().keepMatchBook,
      othersAt: () => views.position(),
    });
    follower = views;
    bookFollower = book;
  }
  const stopFollower = () => follower?.stop();
  const stopBookFollower = () => bookFollower?.stop();
  /**
   * A job (log projection) beside a running server that projects the same SQLite file (its lock in
   * the data dir names the file) leaves the projection to the server's follower, which shares its
   * checkpoint: the job then only decides and commits, and the server projects on the other core.
   * When the job has written, it waits at the end for that checkpoint to pass what it wrote
   * (read-your-writes when it exits), and projects what is left itself if the server has gone or
   * does not get there in time. A server on the same dir but another file projects none of it.
   */
  const serverBeside = (): LockHolder | undefined =>
    config.store === 'sqlite' && config.projection === 'log' ? serverOnFile(config.dataDir, config.sqliteFile) : undefined;
  const deferred = serverBeside() !== undefined;
  /** what this job wrote, up to the last position it has reported on */
  let reportedUpTo = 0;
  let notedOtherFile = false;
  const holder = (h: LockHolder): string => `the server (pid ${h.pid}${h.url ? `, ${h.url}` : ''})`;
  /** At the end of a job on the embedded store, once for what it wrote since the last time: who projects it. */
  const jobWritten = async (timeoutMs = 120_000): Promise<void> => {
    const wrote = (container.get(TOKENS.EventStore) as SqliteEventStore).lastCommittedHere();
    if (!follower || wrote <= reportedUpTo) return; // nothing new written here: nothing to wait for
    reportedUpTo = wrote;
    if (!deferred) {
      // a server on this dir that serves another file does not see what the job wrote
      const other = serverOnDir(config.dataDir);
      if (!notedOtherFile && other?.sqliteFile !== undefined && other.sqliteFile !== realFile(config.sqliteFile)) {
        notedOtherFile = true;
        console.error(
          `note: ${holder(other)} on ${config.dataDir} serves ${other.sqliteFile}, not ${config.sqliteFile} where this job wrote: it does not see these writes (run the job with the server's C360_SQLITE_FILE to write to its store)`,
        );
      }
      return;
    }
    const started = Date.now();
    let server = serverBeside();
    for (const end = started + timeoutMs; server && follower.position() < wrote && Date.now() < end; server = serverBeside())
      await new Promise((r) => setTimeout(r, 200));
    console.error(
      follower.position() >= wrote
        ? `projected by ${server ? holder(server) : 'the server'} running on ${config.sqliteFile} (waited ${((Date.now() - started) / 1000).toFixed(1)} s for it to catch up)`
        : server
          ? `${holder(server)} on ${config.sqliteFile} did not project everything in time: projecting the rest here`
          : `the server on ${config.sqliteFile} has stopped: projecting the rest here`,
    );
  };
  if (config.store === 'dynamodb') {
    // the client is closed only if it was ever created
    let client: { destroy(): void } | undefined;
    container.onActivation(TOKENS.DynamoDbClient, (_ctx, created) => {
      client = created;
      return created;
    });
    closers.push(() => client?.destroy());
    closers.push(() => streamsClient?.destroy());
    if (options.createTables ?? config.createTables ?? config.dynamoEndpoint !== undefined) {
      const { ensureTables } = await import('../adapters/dynamodb/dynamodb.tables.js');
      await ensureTables(container.get(TOKENS.DynamoDbClient), {
        events: config.tables.events,
        views: config.tables.views,
        keys: config.tables.keys,
        quarantine: config.tables.quarantine,
        audit: config.tables.audit,
        ledger: config.tables.ledger,
        outbox: config.tables.outbox,
      });
    }
  }

  // the server and the CLI: data keys under a master key the keyring lacks fail the start, as does
  // a claim secret the store does not record
  if (options.checkMasterKeys || options.checkClaimSecret) {
    try {
      if (options.checkClaimSecret) await checkClaimSecretAtStart(container, { record: options.checkClaimSecret === 'record' });
      if (options.checkMasterKeys)
        await checkKeyring(config, container, typeof options.checkMasterKeys === 'object' ? options.checkMasterKeys.warn : undefined);
    } catch (e) {
      for (const close of closers.splice(0)) await Promise.resolve(close()).catch(() => {});
      throw e;
    }
  }

  const local = options.createTables ?? config.createTables ?? config.dynamoEndpoint !== undefined;
  let intake: (() => CallIntake) | undefined;
  let consumer: KinesisConsumer | undefined;
  if (config.ingestMode === 'async') {
    // only the API queues calls (async mode): the other Lambda bundles leave this module out
    const queued = await (await import('./async-ingest.js')).asyncIngest({
      config,
      core: core(),
      auth: container.get(TOKENS.Authenticator),
      sourceOf,
      local,
      checkpoints: await kinesisCheckpoints(config, container),
      withConsumer: options.kinesisConsumer ?? true,
    });
    intake = () => queued.intake;
    consumer = queued.consumer;
    closers.push(queued.close);
  }

  // the ingest use case is built by the first call, not by whoever takes the intake
  let synced: CallIntake | undefined;
  const sync = () => (synced ??= syncIntake(core().ingest));
  const lazySync: CallIntake = { one: (...args) => sync().one(...args), batch: (...args) => sync().batch(...args) };
  const app: App = {
    config,
    get core() {
      return core();
    },
    get intake() {
      return intake ? intake() : lazySync;
    },
    get auth() {
      return container.get(TOKENS.Authenticator);
    },
    metrics: container.get(TOKENS.Metrics) as MemoryMetrics,
    sourceOf,
    get streamsProjector() {
      return config.store === 'dynamodb' ? container.get(TOKENS.StreamsProjector) : undefined;
    },
    streamRefusals: () => refusals,
    async startBackground() {
      const { engagement } = core();
      if (engagement.enabled && !closers.includes(stopRelay)) {
        engagement.relay.start();
        closers.unshift(stopRelay);
      }
      if (follower && !deferred && !closers.includes(stopFollower)) {
        await follower.catchUp();
        follower.start(config.projection === 'log' ? 100 : 1_000);
        closers.unshift(stopFollower);
        bookFollower?.start(1_000);
        closers.unshift(stopBookFollower);
      }
      if (consumer && !closers.includes(stopConsumer)) {
        consumer.start();
        closers.unshift(stopConsumer);
      }
      if (config.projection !== 'streams' || config.store !== 'dynamodb' || poller) return;
      const { DynamoDbCheckpoints, loadStreamsPoller, reportStreamBatch } = await import('./stores/dynamodb.js');
      const metrics = container.get(TOKENS.Metrics);
      const streamsReporting = {
        logger: { error: (msg: string, fields: Record<string, unknown>) => console.error(JSON.stringify({ level: 'error', msg, ...fields })) },
        metrics,
      };
      const { DescribeTableCommand, DynamoDBStreamsClient, DynamoDbStreamsPoller } = await loadStreamsPoller();
      const client = container.get(TOKENS.DynamoDbClient);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: config.tables.events }));
      if (!Table?.LatestStreamArn) throw new ConfigError(`C360_EVENTS_TABLE: table ${config.tables.events} has no stream; enable NEW_IMAGE streams on it`);
      const streams = new DynamoDBStreamsClient(awsClientConfig(config.dynamoEndpoint));
      streamsClient = streams;
      poller = new DynamoDbStreamsPoller(streams, container.get(TOKENS.StreamsProjector), {
        streamArn: Table.LatestStreamArn,
        checkpoints: new DynamoDbCheckpoints(client, config.tables.views),
        // a refused record is reported as the streams Lambda reports it: an error line with the
        // reason, and the streams_records_rejected counter on /metrics; and kept for /health
        onBatch: (_shard, result, records) => {
          reportStreamBatch(records, result, streamsReporting);
          const last = result.rejected.at(-1);
          if (last) refusals = { count: (refusals?.count ?? 0) + result.rejected.length, lastReason: last.reason.code, lastAt: Date.now() };
        },
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
      if (config.store === 'sqlite' && config.projection === 'log') await jobWritten();
      // a page's after-projection hooks may commit more (engagement decisions): until nothing is left
      // and the match book after them (beside a server, the server's book follower keeps it)
      for (let round = 0; follower && round < 10; round++) {
        const projected = (await follower.catchUp()).projected;
        const booked = bookFollower && !deferred ? (await bookFollower.catchUp()).projected : 0;
        if (projected === 0 && booked === 0) break;
      }
      await core().engagement.relay.flush();
    },
    async close() {
      for (const close of closers.splice(0)) await close();
    },
  };
  return app;
};
