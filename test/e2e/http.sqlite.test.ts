import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import type { HttpBackend } from '../support/http-fixture.js';
import { httpE2eSuite } from '../support/http-e2e.js';

// The same end-to-end suite on the embedded default's production wiring: the container's SQLite
// adapters on a fresh file (events with group commit, views, keys wrapped by a master key,
// quarantine), views projected inline and the log follower running, exactly as `npm start` runs it.

const sqliteBackend = async (): Promise<HttpBackend> => {
  const config = loadConfig({
    C360_STORE: 'sqlite',
    C360_DATA_DIR: mkdtempSync(join(tmpdir(), 'c360-e2e-sqlite-')),
    C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
    C360_MASTER_KEY: randomBytes(32).toString('base64'),
    C360_SOURCES: JSON.stringify({ web: { priority: 10, channel: 'web' }, crm: { priority: 50, channel: 'crm' } }),
  });
  const app = await buildApp(config);
  await app.startBackground();
  return { core: app.core, intake: app.intake, sourceOf: app.sourceOf, metrics: app.metrics, settle: () => app.drainBackground(), close: () => app.close() };
};

httpE2eSuite('embedded SQLite (the default)', sqliteBackend);
