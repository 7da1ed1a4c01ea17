import { randomBytes, randomUUID } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { createKinesisClient } from '../../src/adapters/kinesis/kinesis.client.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { encodeKinesisCall, envelopeKey, UNASSIGNED_TENANT } from '../../src/adapters/kinesis/kinesis.record.js';
import { InvalidLambdaEventError } from '../../src/adapters/lambda/lambda.event.js';
import type { App } from '../../src/infrastructure/app.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { kinesisFunction } from '../../src/infrastructure/lambda/functions.js';
import { appFor, credentials, dynamoEnv, memoryEnv, quietly } from '../support/lambda-apps.js';
import { basic, captureOutput, fixture, httpApiEvent, kinesisEvent } from '../support/lambda-events.js';

// The kinesis function on the real Kinesis event shape (kinesis_stream.json) with our Segment
// calls in the records: ingested, the undecodable ones quarantined and done, and only a store
// failure reported back in batchItemFailures for Lambda to deliver again.

const identify = (id: string, extra: Record<string, unknown> = {}) => ({
  type: 'identify',
  userId: id,
  messageId: `m-${id}`,
  traits: { email: `${id}@example.com` },
  ...extra,
});

const quarantined = async (app: App, tenant: string) => (await app.core.quarantine.list(tenant, { limit: 100 })).entries;

describe('on the in-memory store', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const creds = credentials();
  let app: App;
  let handler: ReturnType<typeof kinesisFunction>;
  beforeAll(async () => {
    const env = memoryEnv(tenant, creds);
    app = await appFor(env);
    handler = quietly(() => kinesisFunction(app, env));
  });
  afterAll(() => app.close());

  it("ingests bare calls (tenant from the writeKey or C360_TENANT) and our envelope; quarantines the fixture's own record", async () => {
    const original = fixture('kinesis_stream').Records[0].kinesis.data as string;
    const event = kinesisEvent([
      { data: identify('bare-key', { writeKey: creds.writeKey }), partitionKey: 'a' },
      { data: identify('bare-default'), partitionKey: 'b' },
      { data: encodeKinesisCall({ tenant, source: 'kinesis', call: identify('envelope') }, envelopeKey(app.config.claimSecret)), partitionKey: 'c' },
      { data: Buffer.from(original, 'base64'), partitionKey: '1' },
    ]);
    const result = await handler(event);
    expect(result).toEqual({ batchItemFailures: [] });
    for (const id of ['bare-key', 'bare-default', 'envelope']) {
      const found = await app.core.queries.findByIdentifier(tenant, 'email', `${id}@example.com`);
      expect(found.kind).toBe('view');
    }
    const held = await quarantined(app, tenant);
    expect(held).toHaveLength(1);
    expect(held[0]!.reason.code).toBe('UNDECODABLE_RECORD');
    expect(held[0]!.payload).toBe('Hello, this is a test.');
  });

  it('redelivery of the same batch changes nothing (messageId idempotency)', async () => {
    const event = kinesisEvent([{ data: identify('again', { writeKey: creds.writeKey }) }]);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const before = app.metrics.snapshot().ingest_accepted;
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(app.metrics.snapshot().ingest_accepted).toBe(before);
    expect(app.metrics.snapshot().ingest_duplicate).toBeGreaterThanOrEqual(1);
  });

  it('an invalid call or an unknown write key is quarantined with its reason, never a batch failure, and the key is not kept', async () => {
    const event = kinesisEvent([
      { data: { type: 'track', messageId: 'no-event-name', userId: 'x' }, partitionKey: 'a' },
      { data: identify('stranger', { writeKey: 'not-a-known-key-0000' }), partitionKey: 'b' },
    ]);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const mine = await quarantined(app, tenant);
    expect(mine.some((e) => e.reason.code === 'VALIDATION_FAILED')).toBe(true);
    // a key nobody knows attributes the call to no tenant but the configured one
    const unknown = [...mine, ...(await quarantined(app, UNASSIGNED_TENANT))].find((e) => e.reason.code === 'UNKNOWN_WRITE_KEY');
    expect(unknown).toBeDefined();
    expect(JSON.stringify(unknown!.payload)).not.toContain('not-a-known-key');
  });

  it('the fixture as AWS sent it: both records quarantined, no failure, no crash', async () => {
    const before = (await quarantined(app, tenant)).length;
    expect(await handler(fixture('kinesis_stream'))).toEqual({ batchItemFailures: [] });
    const after = await quarantined(app, tenant);
    expect(after.length - before).toBe(2);
    expect(after.map((e) => e.payload)).toEqual(expect.arrayContaining(['Hello, this is a test.', 'This is only a test.']));
  });

  it('an event that is not a Kinesis batch is refused as a whole with the field paths', async () => {
    await expect(handler(fixture('apigw-rest_no-auth'))).rejects.toThrow(InvalidLambdaEventError);
    await expect(handler(fixture('dynamodb_base'))).rejects.toMatchObject({
      code: 'INVALID_LAMBDA_EVENT',
      issues: expect.arrayContaining([{ path: 'Records[0].eventSource', message: expect.any(String) }]),
    });
  });
});

describe('the api function queues, the kinesis function takes: two cold starts holding one claim secret', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const creds = credentials();
  const stream = `lambda-envelope-${randomUUID().slice(0, 8)}`;
  const kinesisEndpoint = inject('kinesisEndpoint');
  const claimSecret = randomBytes(32).toString('base64url');
  let api: App;
  let consumer: App;
  let handler: ReturnType<typeof kinesisFunction>;
  beforeAll(async () => {
    api = await appFor(
      memoryEnv(tenant, creds, {
        C360_INGEST_MODE: 'async',
        C360_KINESIS_STREAM: stream,
        AWS_ENDPOINT_URL_KINESIS: kinesisEndpoint,
        C360_CLAIM_SECRET: claimSecret,
      }),
    );
    const env = memoryEnv(tenant, creds, { C360_CLAIM_SECRET: claimSecret });
    consumer = await appFor(env);
    handler = quietly(() => kinesisFunction(consumer, env));
  });
  afterAll(async () => {
    await api.close();
    await consumer.close();
  });

  /** every record on the stream, as the event source mapping would hand them over */
  const recordsOnStream = async () => {
    const client = createKinesisClient({ endpoint: kinesisEndpoint, region: 'us-east-1' });
    try {
      const out: { data: Uint8Array; partitionKey: string }[] = [];
      for (const shard of (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? []) {
        const { ShardIterator } = await client.send(
          new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        const page = await client.send(new GetRecordsCommand({ ShardIterator: ShardIterator! }));
        for (const r of page.Records ?? []) out.push({ data: r.Data!, partitionKey: r.PartitionKey! });
      }
      return out;
    } finally {
      client.destroy();
    }
  };

  it("ingests the api function's signed envelopes; an envelope any producer could write (another tenant, no credential) is quarantined, never ingested", async () => {
    const call = identify('queued');
    const apiHandler = quietly(() => apiFunction(api, { env: {} }));
    const answer = await apiHandler(
      httpApiEvent('apigw-http_no-auth', {
        method: 'POST',
        path: '/v1/identify',
        headers: { authorization: basic(creds.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify(call),
      }),
    );
    expect(answer).toMatchObject({ statusCode: 200 });
    const queued = await recordsOnStream();
    expect(queued).toHaveLength(1);
    const forged = { data: { c360: 1, tenant, source: 'crm', call: identify('forged') }, partitionKey: 'forged' };
    const resigned = {
      data: encodeKinesisCall({ tenant, source: 'crm', call: identify('resigned') }, envelopeKey('not-the-claim-secret-of-this-deployment')),
      partitionKey: 'x',
    };
    expect(await handler(kinesisEvent([...queued, forged, resigned]))).toEqual({ batchItemFailures: [] });
    expect((await consumer.core.queries.findByIdentifier(tenant, 'email', 'queued@example.com')).kind).toBe('view');
    for (const id of ['forged', 'resigned'])
      await expect(consumer.core.queries.findByIdentifier(tenant, 'email', `${id}@example.com`)).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
    const held = await quarantined(consumer, tenant);
    expect(held.map((e) => e.reason.code)).toEqual(['ENVELOPE_NOT_AUTHENTIC', 'ENVELOPE_NOT_AUTHENTIC']);
    expect(held.map((e) => e.source)).toEqual(['kinesis', 'kinesis']);
  });
});

describe('on DynamoDB Local, with the events table gone for a while', () => {
  const endpoint = inject('dynamoEndpoint');
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const creds = credentials();
  const client = createDynamoDbClient({ endpoint });
  let app: App;
  let env: Record<string, string>;
  let handler: ReturnType<typeof kinesisFunction>;
  beforeAll(async () => {
    env = dynamoEnv(endpoint, tenant, creds, { C360_PROJECTION: 'inline' });
    app = await appFor(env);
    handler = quietly(() => kinesisFunction(app, env));
  });
  afterAll(async () => {
    await app.close();
    client.destroy();
  });

  it('reports the records the store could not take in batchItemFailures, and takes them on redelivery', async () => {
    await client.send(new DeleteTableCommand({ TableName: env.C360_EVENTS_TABLE }));
    const event = kinesisEvent([
      { data: identify('down-1', { writeKey: creds.writeKey }), partitionKey: 'a' },
      { data: identify('down-2', { writeKey: creds.writeKey }), partitionKey: 'a' },
      { data: identify('down-3', { writeKey: creds.writeKey }), partitionKey: 'b' },
    ]);
    const sequenceNumbers = (event.Records as { kinesis: { sequenceNumber: string } }[]).map((r) => r.kinesis.sequenceNumber);
    // Powertools reads its log level from the environment when the logger is made (default INFO)
    const noisy = kinesisFunction(app, env);
    const { result: failed, lines } = await captureOutput(() => noisy(event));
    expect(failed.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([...sequenceNumbers].sort());
    // logged with its cause (the store's error class and message), never the records' content
    const json = (line: string): Record<string, unknown> => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    const logged = lines.map(json).find((l) => l.message === 'records failed; reported for redelivery');
    expect(logged).toMatchObject({ failed: 3, error: { name: 'ResourceNotFoundException', message: expect.stringMatching(/table/i) } });
    expect(lines.join('\n')).not.toMatch(/down-\d@example\.com/);

    // the table is back: Lambda delivers the batch again from the first failure
    await ensureTables(client, { events: env.C360_EVENTS_TABLE!, views: env.C360_VIEWS_TABLE! });
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    for (const id of ['down-1', 'down-2', 'down-3']) expect((await app.core.queries.findByIdentifier(tenant, 'email', `${id}@example.com`)).kind).toBe('view');
  });

  it('quarantines a 1 MB record gzip cannot shrink (not JSON, not UTF-8, a call too large) as an excerpt, and ingests the record behind it', async () => {
    const random = (bytes: number) =>
      randomBytes(Math.ceil((bytes * 3) / 4))
        .toString('base64')
        .slice(0, bytes);
    const notJson = Buffer.from(random(1_000_000));
    const binary = randomBytes(1_000_000);
    const tooLarge = Buffer.from(JSON.stringify(identify('big', { writeKey: creds.writeKey, properties: { blob: random(990_000) } })));
    const event = kinesisEvent(
      [notJson, binary, tooLarge].flatMap((data, i) => [
        { data, partitionKey: `big-${i}` },
        { data: identify(`behind-${i}`, { writeKey: creds.writeKey }), partitionKey: `big-${i}` },
      ]),
    );
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    for (const i of [0, 1, 2]) expect((await app.core.queries.findByIdentifier(tenant, 'email', `behind-${i}@example.com`)).kind).toBe('view');
    const held = await quarantined(app, tenant);
    expect(held.map((e) => e.reason.code).sort()).toEqual(['CALL_TOO_LARGE', 'UNDECODABLE_RECORD', 'UNDECODABLE_RECORD']);
    for (const entry of held) {
      const payload = entry.payload as { bytes: number; kept: number; text: string };
      expect(payload.bytes).toBeGreaterThan(900_000);
      expect(payload.kept).toBeLessThanOrEqual(64 * 1024);
      expect(entry.reason.message).toMatch(/; the record is \d+ bytes; its first \d+ are kept$/);
      expect(JSON.stringify(entry)).not.toContain(creds.writeKey);
    }
    // read again (Lambda retries a batch), the same records are the same entries
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await quarantined(app, tenant)).toHaveLength(3);
  });
});
