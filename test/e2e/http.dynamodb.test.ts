import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import type { HttpBackend } from '../support/http-fixture.js';
import { httpE2eSuite } from '../support/http-e2e.js';

// The same end-to-end suite on the production wiring: the container's DynamoDB adapters (events,
// views, keys wrapped by a master key, quarantine) on DynamoDB Local, views projected from
// DynamoDB Streams by the poller, exactly as `npm start` runs it.

const dynamoBackend = async (): Promise<HttpBackend> => {
  const run = randomUUID().slice(0, 8);
  const config = loadConfig({
    C360_STORE: 'dynamodb',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    C360_EVENTS_TABLE: `e2e-events-${run}`,
    C360_VIEWS_TABLE: `e2e-views-${run}`,
    C360_KEYS_TABLE: `e2e-keys-${run}`,
    C360_QUARANTINE_TABLE: `e2e-quarantine-${run}`,
    C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
    C360_MASTER_KEY: randomBytes(32).toString('base64'),
    C360_SOURCES: JSON.stringify({ web: { priority: 10, channel: 'web' }, crm: { priority: 50, channel: 'crm' } }),
  });
  const app = await buildApp(config);
  await app.startBackground();
  return { core: app.core, intake: app.intake, sourceOf: app.sourceOf, metrics: app.metrics, settle: () => app.drainBackground(), close: () => app.close() };
};

httpE2eSuite('DynamoDB Local, Streams projection', dynamoBackend);
