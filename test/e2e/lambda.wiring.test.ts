import { randomUUID } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { kinesisFunction, streamsFunction } from '../../src/infrastructure/lambda/functions.js';
import type { TOKENS } from '../../src/infrastructure/tokens.js';
import { credentials, dynamoEnv, quietly } from '../support/lambda-apps.js';
import { basic, httpApiEvent, kinesisEvent, streamsEvent } from '../support/lambda-events.js';
import { readWholeStream, streamArnOf } from '../support/lambda-streams.js';

// One composition root, resolved lazily per entry point: each Lambda function, built and handed
// a real batch as production builds it (DynamoDB, projection from the stream), constructs only the
// pieces its work touches. The container reports each piece as it is built.

type Piece = keyof typeof TOKENS;

const endpoint = inject('dynamoEndpoint');
const client = createDynamoDbClient({ endpoint });
const streams = new DynamoDBStreamsClient({ endpoint });
const apps: App[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
  client.destroy();
  streams.destroy();
});

const tenant = `t-${randomUUID().slice(0, 8)}`;
const creds = credentials();
// C360_IDENTITY_TOPIC_ARN: an SNS identity feed configured, which only the streams function publishes to
const env = dynamoEnv(endpoint, tenant, creds, {
  C360_IDENTITY_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:c360-identity',
  AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:9',
});

/** an App as the entry points build it, with a record of the pieces built: at start, and after the work */
const traced = async (createTables: boolean) => {
  const built = new Set<Piece>();
  const app = await buildApp(loadConfig(env), { createTables, onBuilt: (piece) => built.add(piece) });
  apps.push(app);
  return { app, built };
};

const identify = (id: string) => ({ type: 'identify', userId: id, messageId: `m-${id}`, writeKey: creds.writeKey, traits: { email: `${id}@example.com` } });

describe('built lazily, checked at start', () => {
  it('a missing or malformed master key fails the start, not the first request', async () => {
    const { C360_MASTER_KEY: _, ...without } = env;
    await expect(buildApp(loadConfig({ ...without, C360_CREATE_TABLES: 'false' }))).rejects.toThrow(/^C360_MASTER_KEY: required/);
    await expect(buildApp(loadConfig({ ...env, C360_MASTER_KEYS_PREVIOUS: 'not-a-key', C360_CREATE_TABLES: 'false' }))).rejects.toThrow(
      /C360_MASTER_KEYS_PREVIOUS/,
    );
  });
});

describe('each function builds only what it uses', () => {
  it('building an App constructs no use case and no store adapter', async () => {
    const { built } = await traced(true);
    for (const piece of ['Core', 'EventStore', 'ReadModelStore', 'KeyStore', 'Quarantine', 'Authenticator', 'StreamsProjector', 'Outbox'] as const)
      expect(built, piece).not.toContain(piece);
  });

  it('kinesis: builds no core before its first batch; ingests it without the streams projector, the views, the GDPR stores, engagement or SNS', async () => {
    const { app, built } = await traced(false);
    const handler = quietly(() => kinesisFunction(app, env));
    // the cold start: no core yet (the authenticator is built: a malformed credentials file fails the start)
    expect(built).not.toContain('Core');
    expect(await handler(kinesisEvent([{ data: identify(`k-${tenant}`) }]))).toEqual({ batchItemFailures: [] });
    // it did its work: the events are in the log
    expect(built).toContain('EventStore');
    expect(built).toContain('Authenticator');
    for (const piece of ['StreamsProjector', 'ReadModelStore', 'AuditLog', 'ErasureLedger', 'Outbox', 'Notifier', 'IdentityFeed', 'SnsClient'] as const)
      expect(built, piece).not.toContain(piece);
  });

  it('streams: builds nothing before its first batch; projects it without the authenticator, the quarantine, the audit log or the engagement outbox', async () => {
    const { app, built } = await traced(false);
    const records = await readWholeStream(streams, await streamArnOf(client, env.C360_EVENTS_TABLE!));
    expect(records.length).toBeGreaterThan(0);
    const handler = quietly(() => streamsFunction(app, env));
    // the cold start: no core, no projector, no DynamoDB client yet
    for (const piece of ['Core', 'StreamsProjector', 'ReadModelStore', 'DynamoDbClient'] as const) expect(built, piece).not.toContain(piece);
    // new customers only: no identity change, so nothing is published on the feed
    expect(await handler(streamsEvent(records, await streamArnOf(client, env.C360_EVENTS_TABLE!)))).toEqual({ batchItemFailures: [] });
    expect(built).toContain('StreamsProjector');
    expect(built).toContain('ReadModelStore');
    for (const piece of ['Authenticator', 'Quarantine', 'AuditLog', 'ErasureLedger', 'Outbox'] as const) expect(built, piece).not.toContain(piece);
    expect((await app.core.queries.findByIdentifier(tenant, 'email', `k-${tenant}@example.com`)).kind).toBe('view');
  });

  it('api: a health check builds the HTTP app and no store; an ingest builds the log but not the streams projector', async () => {
    const { app, built } = await traced(false);
    const handler = quietly(() => apiFunction(app, { env: {} }));
    expect((await handler(httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/health' }))).statusCode).toBe(200);
    for (const piece of ['EventStore', 'ReadModelStore', 'StreamsProjector', 'Outbox'] as const) expect(built, piece).not.toContain(piece);
    const call = { ...identify(`a-${tenant}`), writeKey: undefined };
    const ingest = await handler(
      httpApiEvent('apigw-http_no-auth', {
        method: 'POST',
        path: '/v1/identify',
        headers: { authorization: basic(creds.writeKey) },
        body: JSON.stringify(call),
      }),
    );
    expect(ingest.statusCode).toBe(200);
    expect(built).toContain('EventStore');
    for (const piece of ['StreamsProjector', 'AuditLog', 'ErasureLedger', 'Outbox', 'IdentityFeed'] as const) expect(built, piece).not.toContain(piece);
  });
});
