import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import type { HttpBackend } from '../support/http-fixture.js';
import { httpE2eSuite } from '../support/http-e2e.js';

// Async ingest: the API validates each call and puts it on Kinesis (kinesalite), and the consumer
// in the same process feeds the core. The suite's answers must be the same as with sync ingest.

const asyncBackend = async (): Promise<HttpBackend> => {
  const config = loadConfig({
    C360_STORE: 'memory',
    C360_INGEST_MODE: 'async',
    C360_KINESIS_STREAM: `e2e-ingest-${randomUUID().slice(0, 8)}`,
    AWS_ENDPOINT_URL_KINESIS: inject('kinesisEndpoint'),
    C360_SOURCES: JSON.stringify({ web: { priority: 10, channel: 'web' }, crm: { priority: 50, channel: 'crm' } }),
  });
  const app = await buildApp(config);
  await app.startBackground();
  return { core: app.core, intake: app.intake, sourceOf: app.sourceOf, metrics: app.metrics, settle: () => app.drainBackground(), close: () => app.close() };
};

httpE2eSuite('in-memory store, async ingest through Kinesis', asyncBackend);
