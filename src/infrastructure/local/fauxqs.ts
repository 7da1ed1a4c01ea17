import type { AddressInfo } from 'node:net';
import { loadSqlite } from '../../adapters/sqlite/sqlite.module.js';

// fauxqs (SNS + SQS, in memory) in this process, on a loopback port: for the tests' global setup
// and local runs. fauxqs's own startFauxqs listens on 0.0.0.0, so this builds its app and listens
// on 127.0.0.1 only. Queue URLs name sqs.<region>.localhost: give SQS clients this endpoint
// explicitly, and the SDK sends every call here instead of to the queue URL's host.

export type Fauxqs = { readonly endpoint: string; stop(): Promise<void> };

export const startFauxqs = async (options: { readonly port?: number } = {}): Promise<Fauxqs> => {
  // fauxqs imports node:sqlite (for its optional dataDir persistence, unused here): load it first
  // through loadSqlite, so that its one ExperimentalWarning is dropped and nothing else is
  loadSqlite();
  // a dev dependency: loaded only when a local server is asked for, never by a Lambda bundle
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // fauxqs sets forceCloseConnections, so keep-alive sockets of SDK clients do not hold close() open
    stop: () => (stopped ??= app.close()),
  };
};
