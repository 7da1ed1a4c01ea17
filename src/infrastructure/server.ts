import { createHttpApp } from '../adapters/http/app.js';
import { startHttpServer } from '../adapters/http/node-server.js';
import { buildApp, type App } from './app.js';
import type { Config } from './config.js';
import { loadCredentials } from './credentials.js';
import { startEmbeddedDynamoDb } from './local/embedded.js';
import { withLocalSecrets } from './local/secrets.js';

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
      return dynamoLocal ? `DynamoDB Local, data in ${config.dataDir}` : `DynamoDB at ${config.dynamoEndpoint ?? 'AWS'}`;
  }
};

export const serve = async (base: Config, out: (line: string) => void = console.log): Promise<RunningServer> => {
  const { config: withSecrets, generated } = withLocalSecrets(base);
  const embedded = await startEmbeddedDynamoDb(withSecrets);
  const config = embedded.config;
  let app: App | undefined;
  try {
    app = await buildApp(config);
    await app.startBackground();
    const running = app;
    const http = createHttpApp({
      core: running.core,
      intake: running.intake,
      auth: running.auth,
      sourceOf: running.sourceOf,
      metrics: running.metrics,
      now: Date.now,
      health: async () => ({ ok: true, details: { store: config.store, projection: config.projection, ingest: config.ingestMode } }),
      logger: {
        info: log,
        warn: (m, f) => console.warn(JSON.stringify({ level: 'warn', msg: m, ...f })),
        error: (m, f) => console.error(JSON.stringify({ level: 'error', msg: m, ...f })),
      },
    });
    const server = await startHttpServer(http, { port: config.port, hostname: config.host });
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}`;
    const where = whereData(config, embedded.dynamo !== undefined);
    // with a credentials file the tenants are the file's (C360_TENANT names none of them)
    const tenants = config.credentialsFile ? [...new Set(loadCredentials(config).map((c) => c.tenant))].sort() : [config.tenant];
    const whose = config.credentialsFile ? `tenants ${tenants.map((t) => `"${t}"`).join(', ')} from ${config.credentialsFile}` : `tenant "${config.tenant}"`;
    out(`Customer 360 API on ${url} (${whose}, store ${config.store}: ${where}; docs ${url}/docs)`);
    if (generated.writeKey) out(`  write key (Basic auth user name, scope ingest): ${generated.writeKey}`);
    if (generated.adminToken) out(`  admin token (Bearer, every scope):            ${generated.adminToken}`);
    if (generated.writeKey || generated.adminToken)
      out(config.store === 'memory' ? '  (generated for this process)' : `  (generated once, kept in ${config.dataDir}/secrets.json)`);
    return {
      url,
      app: running,
      close: async () => {
        await server.close();
        await running.close();
        await embedded.stop();
      },
    };
  } catch (e) {
    await app?.close().catch(() => {});
    await embedded.stop();
    throw e;
  }
};
