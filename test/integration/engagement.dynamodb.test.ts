import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { decodeReadable } from '../../src/application/event-codec.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbOutbox } from '../../src/adapters/dynamodb/dynamodb.outbox.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { awsClientConfig } from '../../src/infrastructure/container.js';
import { outboxContract } from '../contract/outbox.contract.js';
import { interestCall } from '../support/engagement-harness.js';

// The outbox on DynamoDB Local (its own table per run: `due` spans tenants), and engagement on the
// production wiring: views and decisions from DynamoDB Streams, the outbox in DynamoDB.

const client = createDynamoDbClient(awsClientConfig(inject('dynamoEndpoint')));
const run = randomUUID().slice(0, 8);

outboxContract('DynamoDB Local', async () => {
  const tableName = `outbox-contract-${run}-${randomUUID().slice(0, 6)}`;
  await ensureTables(client, { outbox: tableName });
  return new DynamoDbOutbox(client, { tableName });
});

/** The server's wiring on DynamoDB Local, its tables named by `prefix` (fresh per run). */
const dynamoConfig = (prefix: string, extra: Record<string, string> = {}) => {
  const tables = { events: `${prefix}-events-${run}`, outbox: `${prefix}-outbox-${run}` };
  const config = loadConfig({
    C360_STORE: 'dynamodb',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    C360_EVENTS_TABLE: tables.events,
    C360_VIEWS_TABLE: `${prefix}-views-${run}`,
    C360_KEYS_TABLE: `${prefix}-keys-${run}`,
    C360_QUARANTINE_TABLE: `${prefix}-quarantine-${run}`,
    C360_OUTBOX_TABLE: tables.outbox,
    C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
    C360_MASTER_KEY: randomBytes(32).toString('base64'),
    ...extra,
  });
  return { tables, config };
};

describe('engagement on DynamoDB with Streams projection', () => {
  let app: App;
  const { tables, config } = dynamoConfig('eng');
  beforeAll(async () => {
    app = await buildApp(config);
    await app.startBackground();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('decides after the Streams projection, records the decision once, publishes it through the outbox and shows it in the view', async () => {
    const tenant = `t-${run}`;
    const web = app.sourceOf(tenant, 'web');
    const call = interestCall('dyn-1', 'electronics', { marketing: true, city: 'Cape Town', messageId: 'dyn-m1' });
    expect((await app.core.ingest.ingest(tenant, web, call)).status).toBe('accepted');
    // the first drain projects the call and decides; the second projects the decision itself
    await app.drainBackground();
    await app.drainBackground();
    const found = await app.core.queries.findByIdentifier(tenant, 'user_id', 'dyn-1');
    if (found.kind !== 'view') throw new Error('expected a view');
    const id = found.customer.customerId;
    const decided = (await app.core.ports.store.readStream(tenant, id)).filter((e) => e.type === 'EngagementDecided');
    expect(decided.map((e) => e.data)).toEqual([expect.objectContaining({ outcome: 'sent', offerId: 'cpt-electronics-collect', channel: 'email' })]);
    const decisionId = (decided[0]!.data as { decisionId: string }).decisionId;
    const outbox = new DynamoDbOutbox(client, { tableName: tables.outbox });
    expect(await outbox.get(tenant, decisionId)).toMatchObject({
      status: 'published',
      confirmed: true,
      customerId: id,
      notification: { offerId: 'cpt-electronics-collect', tenant },
    });
    const history = await app.core.engagement.history.history(tenant, id);
    expect(history).toMatchObject({ kind: 'history', engagement: { sent: 1, decisions: [{ decisionId, outcome: 'sent' }] } });

    // the same call again changes nothing, and a redelivery of the stream records no second decision
    await app.core.ingest.ingest(tenant, web, call);
    await app.drainBackground();
    const stored = await app.core.ports.store.readStream(tenant, id);
    await app.core.afterProject(
      tenant,
      stored.map((s) => decodeReadable(s)),
    );
    expect((await app.core.ports.store.readStream(tenant, id)).filter((e) => e.type === 'EngagementDecided')).toHaveLength(1);
  }, 60_000);
});

describe('engagement on DynamoDB with inline projection', () => {
  let app: App;
  const { tables, config } = dynamoConfig('engi', { C360_PROJECTION: 'inline' });
  beforeAll(async () => {
    app = await buildApp(config);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it("commits the decision in the call's own transaction, with its idempotency record, and never a second one", async () => {
    const tenant = `t-${run}`;
    const web = app.sourceOf(tenant, 'web');
    const call = interestCall('dyn-i1', 'electronics', { marketing: true, city: 'Cape Town', messageId: 'dyn-i-m1' });
    const commits: string[][] = [];
    const store = app.core.ports.store;
    const commit = store.commit.bind(store);
    store.commit = async (c) => {
      commits.push(c.streams.flatMap((s) => s.events.map((e) => e.type)));
      return commit(c);
    };
    expect((await app.core.ingest.ingest(tenant, web, call)).status).toBe('accepted');
    // one commit, the decision last in it, and the view already shows it (projected inline)
    expect(commits).toHaveLength(1);
    expect(commits[0]!.at(-1)).toBe('EngagementDecided');
    const found = await app.core.queries.findByIdentifier(tenant, 'user_id', 'dyn-i1');
    if (found.kind !== 'view') throw new Error('expected a view');
    const id = found.customer.customerId;
    const decided = (await store.readStream(tenant, id)).filter((e) => e.type === 'EngagementDecided');
    expect(decided.map((e) => e.data)).toEqual([expect.objectContaining({ outcome: 'sent', offerId: 'cpt-electronics-collect' })]);
    const decisionId = (decided[0]!.data as { decisionId: string }).decisionId;
    await expect(store.getIdempotency(tenant, `engagement:${decisionId}`, Date.now())).resolves.toMatchObject({ payloadHash: decisionId });
    expect(found.customer.engagement).toMatchObject({ sent: 1 });
    expect(await new DynamoDbOutbox(client, { tableName: tables.outbox }).get(tenant, decisionId)).toMatchObject({ status: 'published', confirmed: true });

    // the call again is a duplicate; the stream handed over again answers nothing; the call's events alone find the record
    expect((await app.core.ingest.ingest(tenant, web, call)).status).toBe('duplicate');
    const events = (await store.readStream(tenant, id)).map((s) => decodeReadable(s));
    expect(await app.core.engagement.react(tenant, events)).toEqual([]);
    expect(
      await app.core.engagement.react(
        tenant,
        events.filter((r) => r.event.type !== 'EngagementDecided'),
      ),
    ).toEqual([expect.objectContaining({ status: 'duplicate', decisionId })]);
    expect((await store.readStream(tenant, id)).filter((e) => e.type === 'EngagementDecided')).toHaveLength(1);
  }, 60_000);
});
