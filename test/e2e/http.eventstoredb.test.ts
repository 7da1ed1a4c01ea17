import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { startStandIn, type StandIn } from '../support/esdb-standin/server.js';
import type { HttpBackend } from '../support/http-fixture.js';
import { httpE2eSuite } from '../support/http-e2e.js';

// The same end-to-end suite with C360_STORE=eventstoredb, as the container wires it: the log in
// EventStoreDB (the gRPC stand-in: no server can be installed here), keys, views, snapshots and
// the quarantine in the embedded SQLite file, so nothing but EventStoreDB has to run.

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn?.stop();
});

const esdbBackend = async (): Promise<HttpBackend> => {
  const config = loadConfig({
    C360_STORE: 'eventstoredb',
    ESDB_CONNECTION_STRING: standIn.connectionString,
    C360_DATA_DIR: mkdtempSync(join(tmpdir(), 'c360-e2e-esdb-')),
    C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
    C360_MASTER_KEY: randomBytes(32).toString('base64'),
    C360_SOURCES: JSON.stringify({ web: { priority: 10, channel: 'web' }, crm: { priority: 50, channel: 'crm' } }),
  });
  const app = await buildApp(config);
  await app.startBackground();
  return { core: app.core, intake: app.intake, sourceOf: app.sourceOf, metrics: app.metrics, settle: () => app.drainBackground(), close: () => app.close() };
};

httpE2eSuite('EventStoreDB (stand-in) with its side stores in SQLite', esdbBackend);
