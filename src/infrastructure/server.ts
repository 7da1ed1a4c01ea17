import { createHttpApp } from '../adapters/http/app.js';
import { startHttpServer } from '../adapters/http/node-server.js';
import { buildApp, type App, type StreamRefusals } from './app.js';
import type { Config } from './config.js';
import { loadCredentials } from './credentials.js';
import { startEmbeddedDynamoDb } from './local/embedded.js';
import { withLocalSecrets } from './local/secrets.js';
import { checkDataDirFree, lockDataDir } from './local/server-lock.js';
import { assertPortFree, portError } from './port-check.js';

// The HTTP API as a long-running process (npm start, `c360 serve`): the embedded SQLite store when
// nothing else is configured; on DynamoDB, with the Streams poller projecting views beside it.

export type RunningServer = { readonly url: string; readonly app: App; close(): Promise<void> };

const log = (msg: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ level: 'info', msg, ...fields }));

const whereData = (config: Config, dynamoLocal: boolean): string => {
  switch (config.store) {
    case 'memory':
      return 'in memory (nothing is kept at exit)';
    case 'sqlite':
      return `embedded SQLite, data in ${config.sqliteFile}`;
    case 'eventstoredb':
      return `EventStoreDB log, keys and views in ${config.sqliteFile}`;
    case 'dynamodb':
      return dynamoLocal ? `DynamoDB Local on ${config.dynamoEndpoint}, data in ${config.dataDir}` : `DynamoDB at ${config.dynamoEndpoint ?? 'AWS'}`;
  }
};

/** How long /health waits for the store before calling it unreachable. */
export const HEALTH_PROBE_MS = 2_000;

/**
 * A cheap read of the store (a claim and a view that do not exist), bounded in time: 'ok', or why
 * not. Only the error's code or name is said: /health answers without credentials.
 */
const probeStore = async (app: App, tenant: string): Promise<string> => {
  const { store, readModels } = app.core.ports;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${HEALTH_PROBE_MS / 1000} s`), HEALTH_PROBE_MS);
  });
  const read = Promise.all([store.readClaims(tenant, ['health-probe']), readModels.get(tenant, 'health-probe')]).then(
    () => 'ok',
    (e: unknown) => {
      const err = e as { code?: unknown; name?: unknown };
      return `unreachable (${typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' ? err.name : 'error'})`;
    },
  );
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** How long /health says `recent` after the Streams poller last refused a record for good. */
export const STREAM_REFUSALS_RECENT_MS = 15 * 60_000;

/**
 * What /health says of the records the Streams poller refused for good (each one's view misses
 * it until a rebuild): their count since the start, the last one's reason code and time, and
 * `recent` while that was within STREAM_REFUSALS_RECENT_MS. It does not make the server not ok:
 * the server still serves every request, and a health check that failed would take it out of a
 * load balancer (or have it restarted) for a record that only a fix and a rebuild put right.
 * Codes and counts only: /health answers without credentials, so no item, tenant or detail.
 */
export const streamsHealth = (
  refusals: StreamRefusals | undefined,
  now: number,
): { readonly refused: number; readonly recent: boolean; readonly lastReason?: string; readonly lastRefusedAt?: string } =>
  refusals === undefined
    ? { refused: 0, recent: false }
    : {
        refused: refusals.count,
        recent: now - refusals.lastAt < STREAM_REFUSALS_RECENT_MS,
        lastReason: refusals.lastReason,
        lastRefusedAt: new Date(refusals.lastAt).toISOString(),
      };

export const serve = async (base: Config, out: (line: string) => void = console.log): Promise<RunningServer> => {
  // another server on this data dir, or a taken port, is said at once, before anything is started
  const locks = base.store !== 'memory';
  if (locks) checkDataDirFree(base.dataDir);
  await assertPortFree(base.port, base.host);
  const { config: withSecrets, generated } = withLocalSecrets(base);
  // a job on the embedded store leaves its projection to the server projecting the same file
  const lock = locks ? lockDataDir(base.dataDir, base.store === 'sqlite' ? base.sqliteFile : undefined) : undefined;
  let embedded: Awaited<ReturnType<typeof startEmbeddedDynamoDb>>;
  try {
    embedded = await startEmbeddedDynamoDb(withSecrets, out);
  } catch (e) {
    lock?.release();
    throw e;
  }
  const config = embedded.config;
  let app: App | undefined;
  // the analytics lake beside a persistent store: its projector follows the log, erasure reaches it
  const lake = config.lake === 'on' && config.store !== 'memory' ? await (await import('./lake.js')).openLocalLake(config) : undefined;
  try {
    app = await buildApp(config, { lake: lake?.eraser, checkMasterKeys: true, checkClaimSecret: 'record' });
    await app.startBackground();
    const running = app;
    const tenantsServed = config.credentialsFile ? [...new Set(loadCredentials(config).map((c) => c.tenant))].sort() : [config.tenant];
    lake?.follow(
      running.core.ports.store,
      tenantsServed,
      (e) => console.warn(JSON.stringify({ level: 'warn', msg: `lake projector: ${(e as Error).message}` })),
      running.core.ports.ledger,
    );
    const http = createHttpApp({
      analytics: lake?.lake.analytics,
      core: running.core,
      intake: running.intake,
      auth: running.auth,
      sourceOf: running.sourceOf,
      metrics: running.metrics,
      now: Date.now,
      anonymousRateLimitPerSecond: config.anonymousRateLimitPerSecond,
      console: config.consoleSessionKey ? { sessionKey: config.consoleSessionKey } : undefined,
      health: async () => {
        const store = await probeStore(running, config.tenant);
        const details = { store: config.store, reachable: store, projection: config.projection, ingest: config.ingestMode };
        // where the Streams poller projects the views: the records it refused, said (not a failed check)
        if (config.store !== 'dynamodb' || config.projection !== 'streams') return { ok: store === 'ok', details };
        return { ok: store === 'ok', details: { ...details, streams: streamsHealth(running.streamRefusals(), Date.now()) } };
      },
      logger: {
        info: log,
        warn: (m, f) => console.warn(JSON.stringify({ level: 'warn', msg: m, ...f })),
        error: (m, f) => console.error(JSON.stringify({ level: 'error', msg: m, ...f })),
      },
    });
    const server = await startHttpServer(http, { port: config.port, hostname: config.host }).catch((e: unknown) => {
      throw portError(e, config.port, config.host);
    });
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}`;
    lock?.setUrl(url);
    const where = whereData(config, embedded.dynamo !== undefined);
    // with a credentials file the tenants are the file's (C360_TENANT names none of them)
    const tenants = tenantsServed;
    const whose = config.credentialsFile ? `tenants ${tenants.map((t) => `"${t}"`).join(', ')} from ${config.credentialsFile}` : `tenant "${config.tenant}"`;
    const consoleAt = config.consoleSessionKey ? `; console ${url}/console` : '';
    out(`Customer 360 API on ${url} (${whose}, store ${config.store}: ${where}; docs ${url}/docs${consoleAt})`);
    // as shell lines: the README's examples use $WRITE_KEY and $ADMIN_TOKEN
    if (generated.writeKey || generated.adminToken)
      out(
        `  credentials ${config.store === 'memory' ? 'generated for this process' : `generated once, kept in ${config.dataDir}/secrets.json`}; to use them in another shell:`,
      );
    if (generated.writeKey) out(`  export WRITE_KEY=${generated.writeKey}   # write key: Basic auth user name, scope ingest`);
    if (generated.adminToken) out(`  export ADMIN_TOKEN=${generated.adminToken}   # admin token: Bearer, every scope`);
    return {
      url,
      app: running,
      close: async () => {
        try {
          await server.close();
          await lake?.close();
          await running.close();
          await embedded.stop();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (e) {
    await lake?.close().catch(() => {});
    await app?.close().catch(() => {});
    await embedded.stop();
    lock?.release();
    throw e;
  }
};
