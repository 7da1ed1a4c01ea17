import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { toEventItem } from '../../src/adapters/dynamodb/dynamodb.event-item.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
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
