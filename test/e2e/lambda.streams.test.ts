import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { toEventItem } from '../../src/adapters/dynamodb/dynamodb.event-item.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { InvalidLambdaEventError } from '../../src/adapters/lambda/lambda.event.js';
import type { App } from '../../src/infrastructure/app.js';
import { kinesisFunction, streamsFunction } from '../../src/infrastructure/lambda/functions.js';
import { registered } from '../support/builders.js';
import { appFor, credentials, dynamoEnv, memoryEnv, quietly } from '../support/lambda-apps.js';
import { fixture, kinesisEvent, streamsEvent } from '../support/lambda-events.js';
import { readWholeStream, streamArnOf } from '../support/lambda-streams.js';

// The streams function on DynamoDB Local: calls ingested through the kinesis function land in the
// events table (no inline projection), the table's real stream records are wrapped in the
// dynamodb_base.json envelope, and the streams function builds the 360 views from them.

const endpoint = inject('dynamoEndpoint');
const client = createDynamoDbClient({ endpoint });
const streams = new DynamoDBStreamsClient({ endpoint });
afterAll(() => {
  client.destroy();
  streams.destroy();
});

const identify = (id: string, writeKey: string) => ({
  type: 'identify',
  userId: id,
  messageId: `m-${id}`,
  writeKey,
  traits: { email: `${id}@example.com`, plan: 'pro' },
});

describe('DynamoDB Streams -> views', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const creds = credentials();
  let app: App;
  let env: Record<string, string>;
  let streamArn: string;
  let project: ReturnType<typeof streamsFunction>;
  beforeAll(async () => {
    env = dynamoEnv(endpoint, tenant, creds);
    app = await appFor(env);
    project = quietly(() => streamsFunction(app, env));
    const ingest = quietly(() => kinesisFunction(app, env));
    const ingested = await ingest(
      kinesisEvent(['ada', 'grace', 'edsger'].map((id) => ({ data: identify(`${id}-${tenant}`, creds.writeKey), partitionKey: id }))),
    );
    expect(ingested).toEqual({ batchItemFailures: [] });
    streamArn = await streamArnOf(client, env.C360_EVENTS_TABLE!);
  });
  afterAll(() => app.close());

  const view = (id: string) => app.core.queries.findByIdentifier(tenant, 'email', `${id}-${tenant}@example.com`);

  it('no view is stored before the stream is projected (projection runs from the stream only); reads fold it from the log meanwhile', async () => {
    const found = await view('ada');
    if (found.kind !== 'view') throw new Error(`expected a view, got ${found.kind}`);
    expect(JSON.stringify(found)).toContain(`ada-${tenant}@example.com`);
    expect(await app.core.ports.readModels.get(tenant, found.customer.customerId)).toBeUndefined();
  });

  it("projects the table's stream records into the 360 views; the fixture's own records are ignored, not failures", async () => {
    const ours = await readWholeStream(streams, streamArn);
    expect(ours.length).toBeGreaterThan(0);
    const foreign = fixture('dynamodb_base').Records as unknown[];
    const event = streamsEvent(ours, streamArn);
    const result = await project({ Records: [foreign[0], ...(event.Records as unknown[]), foreign[1]] });
    expect(result).toEqual({ batchItemFailures: [] });
    for (const id of ['ada', 'grace', 'edsger']) {
      const found = await view(id);
      expect(found.kind).toBe('view');
      expect(JSON.stringify(found)).toContain(`${id}-${tenant}@example.com`);
    }
  });

  it('delivering the same records again changes nothing', async () => {
    // scores are computed at read time from the clock: compare the stored facts
    const facts = async () => {
      const found = await view('grace');
      if (found.kind !== 'view') throw new Error('expected a view');
      const { scores: _now, ...rest } = found.customer;
      return rest;
    };
    const before = await facts();
    const again = await project(streamsEvent(await readWholeStream(streams, streamArn), streamArn));
    expect(again).toEqual({ batchItemFailures: [] });
    expect(await facts()).toEqual(before);
  });

  it("the fixture as AWS sent it (someone else's table) is ignored: no failure, no crash", async () => {
    expect(await project(fixture('dynamodb_base'))).toEqual({ batchItemFailures: [] });
  });

  it('an event that is not a DynamoDB Streams batch is refused as a whole with the field paths', async () => {
    await expect(project(fixture('kinesis_stream'))).rejects.toThrow(InvalidLambdaEventError);
    await expect(project({ Records: 'nope' })).rejects.toMatchObject({
      code: 'INVALID_LAMBDA_EVENT',
      issues: [{ path: 'Records', message: expect.any(String) }],
    });
  });
});

describe('a views table that is unavailable for a while', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const creds = credentials();
  let app: App;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = dynamoEnv(endpoint, tenant, creds);
    app = await appFor(env);
  });
  afterAll(() => app.close());

  it('reports the records it could not project in batchItemFailures, and projects them on redelivery', async () => {
    const ingest = quietly(() => kinesisFunction(app, env));
    expect(await ingest(kinesisEvent([{ data: identify(`late-${tenant}`, creds.writeKey) }]))).toEqual({ batchItemFailures: [] });
    const event = streamsEvent(await readWholeStream(streams, await streamArnOf(client, env.C360_EVENTS_TABLE!)), 'arn:test');
    const project = quietly(() => streamsFunction(app, env));

    await client.send(new DeleteTableCommand({ TableName: env.C360_VIEWS_TABLE }));
    const failed = await project(event);
    expect(failed.batchItemFailures.length).toBeGreaterThan(0);

    await ensureTables(client, { events: env.C360_EVENTS_TABLE!, views: env.C360_VIEWS_TABLE! });
    expect(await project(event)).toEqual({ batchItemFailures: [] });
    expect((await app.core.queries.findByIdentifier(tenant, 'email', `late-${tenant}@example.com`)).kind).toBe('view');
  });
});

describe('a record the streams function refuses for good', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const creds = credentials();
  let app: App;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = dynamoEnv(endpoint, tenant, creds);
    app = await appFor(env);
  });
  afterAll(() => app.close());

  it("is logged as 'stream record rejected' with its item, reason and the error's words, and counted in streams_records_rejected", async () => {
    // an event item whose data is not JSON
    const bad = { ...toEventItem(registered(tenant, 'c-bad-json').events[0]!), data: { S: '{oops' } };
    await client.send(new PutItemCommand({ TableName: env.C360_EVENTS_TABLE!, Item: bad }));
    const event = streamsEvent(await readWholeStream(streams, await streamArnOf(client, env.C360_EVENTS_TABLE!)), 'arn:test');
    const project = streamsFunction(app, env);
    const written: string[] = [];
    // Powertools writes an error line to stderr, the EMF metrics to stdout
    const spies = [process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true)),
    );
    try {
      expect(await project(event)).toEqual({ batchItemFailures: [] });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const lines = written
      .flatMap((w) => w.split('\n'))
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const rejected = lines.filter((l) => l.message === 'stream record rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ level: 'ERROR', item: `T#${tenant}#S#c-bad-json/1`, reason: 'UNREADABLE_EVENT_ITEM' });
    expect(rejected[0]!.detail).toMatch(/JSON/);
    expect(lines.some((l) => l.streams_records_rejected === 1)).toBe(true);
  });
});

describe('a streams function configured without DynamoDB', () => {
  it('fails every invocation with a message that names the variable to set', async () => {
    const env = memoryEnv('no-streams');
    const app = await appFor(env);
    try {
      const project = quietly(() => streamsFunction(app, env));
      await expect(project(fixture('dynamodb_base'))).rejects.toThrow(/C360_STORE=dynamodb/);
    } finally {
      await app.close();
    }
  });
});
