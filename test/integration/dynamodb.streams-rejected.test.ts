import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { toEventItem } from '../../src/adapters/dynamodb/dynamodb.event-item.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve, type RunningServer } from '../../src/infrastructure/server.js';
import { registered } from '../support/builders.js';
import { dynamoDbEnv } from '../support/dynamodb-env.js';

// `npm start` on DynamoDB projects through the local streams poller, not the Lambda. A record it
// refuses for good (skipped so the shard goes on) must be reported there as the Lambda reports it:
// an error line naming the record and the reason, and a counter on /metrics. Before, the poller's
// projector was built without a callback and a refused record vanished without a trace.

describe('the local streams poller reports a refused record (DynamoDB Local)', () => {
  const prefix = `rejected-${randomUUID().slice(0, 8)}-`;
  const env = dynamoDbEnv(prefix);
  const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
  let app: App;

  beforeAll(async () => {
    app = await buildApp(loadConfig(env));
    await app.startBackground();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    client.destroy();
  });

  it('logs "stream record rejected" with the item and the reason, and counts it in streams_records_rejected', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const good = await app.core.ingest.ingest(tenant, app.sourceOf(tenant, 'web'), { type: 'identify', messageId: 'ok-1', userId: 'u-ok' });
    expect(good.status).toBe('accepted');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // an event item whose data is not JSON: written once, refused on every delivery
      const bad = { ...toEventItem(registered(tenant, 'c-bad-json').events[0]!), data: { S: '{oops' } };
      await client.send(new PutItemCommand({ TableName: env.C360_EVENTS_TABLE, Item: bad }));
      await app.drainBackground();
      const lines = errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('stream record rejected'));
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 'error', msg: 'stream record rejected', item: `T#${tenant}#S#c-bad-json/1`, reason: 'UNREADABLE_EVENT_ITEM' });
      expect(line.detail).toMatch(/JSON/);
      expect(line.sequenceNumber).toEqual(expect.any(String));
    } finally {
      errors.mockRestore();
    }
    expect(app.metrics.get('streams_records_rejected')).toBe(1);
    expect(app.metrics.get('streams_records')).toBeGreaterThanOrEqual(2);
    // the good customer was projected all the same
    expect((await app.core.queries.get360(tenant, (good as { customerId: string }).customerId)).kind).toBe('view');
  });
});

describe('/health of the server (npm start) on DynamoDB while its streams poller refuses records (DynamoDB Local)', () => {
  const prefix = `rejected-health-${randomUUID().slice(0, 8)}-`;
  const env = dynamoDbEnv(prefix);
  const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
  let dataDir: string;
  let running: RunningServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'c360-rejected-health-'));
    running = await serve(loadConfig({ ...env, C360_DATA_DIR: dataDir, PORT: '0', C360_LAKE: 'off' }), () => {});
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    client.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('says the count, that the last refusal is recent, and its reason, and nothing of the record, once one is refused (still 200: the server serves)', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const before = await fetch(`${running.url}/health`);
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({
      ok: true,
      details: { store: 'dynamodb', reachable: 'ok', projection: 'streams', streams: { refused: 0, recent: false } },
    });

    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const bad = { ...toEventItem(registered(tenant, 'c-refused-health').events[0]!), data: { S: '{oops' } };
      await client.send(new PutItemCommand({ TableName: env.C360_EVENTS_TABLE, Item: bad }));
      await running.app.drainBackground();
    } finally {
      errors.mockRestore();
    }
    const after = await fetch(`${running.url}/health`);
    expect(after.status).toBe(200);
    const text = await after.text();
    expect(JSON.parse(text)).toEqual({
      ok: true,
      details: {
        store: 'dynamodb',
        reachable: 'ok',
        projection: 'streams',
        ingest: 'sync',
        streams: { refused: 1, recent: true, lastReason: 'UNREADABLE_EVENT_ITEM', lastRefusedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      },
    });
    // /health answers without credentials: no tenant, customer or item of the refused record
    expect(text).not.toContain(tenant);
    expect(text).not.toContain('c-refused-health');
  });
});
