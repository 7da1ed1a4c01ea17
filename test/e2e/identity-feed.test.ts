import { randomBytes, randomUUID } from 'node:crypto';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';

// The identity change feed through the production wiring: the container's SnsIdentityFeed on
// fauxqs (AWS_ENDPOINT_URL_SNS), fed from committed events after projection: inline on the memory
// store, and by the Streams projector on DynamoDB Local. A subscriber's SQS queue sees one merge,
// one unmerge and one erasure per cluster member, with ids only.

const endpoint = inject('snsEndpoint');
const sns = new SNSClient({ endpoint });
const sqs = new SQSClient({ endpoint });
afterAll(() => {
  sns.destroy();
  sqs.destroy();
});

const subscribedTopic = async () => {
  const name = `identity-${randomUUID()}`;
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
  return { topicArn: TopicArn!, queueUrl: QueueUrl! };
};

const drainQueue = async (queueUrl: string, atLeast: number): Promise<{ body: Record<string, unknown>; raw: string }[]> => {
  const out: { body: Record<string, unknown>; raw: string }[] = [];
  for (let polls = 0; polls < 30 && out.length < atLeast; polls++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 300 }),
    );
    out.push(...Messages.map((m) => ({ body: JSON.parse(m.Body!) as Record<string, unknown>, raw: m.Body! })));
  }
  return out;
};

const scenario = async (app: App, settle: () => Promise<void>) => {
  const tenant = app.config.tenant;
  const web = app.sourceOf(tenant, 'web');
  const ingest = async (call: Record<string, unknown>) => {
    const out = await app.core.ingest.ingest(tenant, web, call);
    if (out.status !== 'accepted') throw new Error(`refused: ${JSON.stringify(out)}`);
    return out;
  };
  await ingest({ type: 'identify', messageId: 'f1', anonymousId: 'anon-feed-a', traits: { email: 'feed.a@example.com' } });
  await ingest({ type: 'identify', messageId: 'f2', anonymousId: 'anon-feed-b', traits: { email: 'feed.b@example.com' } });
  const merging = await ingest({
    type: 'track',
    messageId: 'f3',
    anonymousId: 'anon-feed-a',
    event: 'Signed In',
    context: { traits: { email: 'feed.b@example.com' } },
  });
  expect(merging.merged).toHaveLength(1);
  await settle();
  const merge = (await app.core.queries.explain(tenant, merging.customerId)) as { merges: { mergeId: string }[] };
  await app.core.identity.unmerge(tenant, merging.customerId, merge.merges[0]!.mergeId, { actor: 'test' });
  await settle();
  const receipt = await app.core.gdpr.erase(tenant, merging.customerId, { actor: 'test' });
  await settle();
  return { survivorId: merging.customerId, absorbedId: merging.merged[0]!, receipt };
};

const expectFeed = (messages: { body: Record<string, unknown>; raw: string }[], s: Awaited<ReturnType<typeof scenario>>, tenant: string) => {
  const byType = (t: string) => messages.filter((m) => m.body.type === t).map((m) => m.body);
  expect(byType('merged')).toEqual([expect.objectContaining({ tenant, survivorId: s.survivorId, absorbedId: s.absorbedId })]);
  expect(byType('unmerged')).toEqual([expect.objectContaining({ tenant, survivorId: s.survivorId, restoredId: s.absorbedId })]);
  expect(
    byType('erased')
      .map((e) => e.customerId)
      .sort(),
  ).toEqual([...s.receipt.customers].sort());
  expect(byType('erased').every((e) => e.erasureId === s.receipt.erasureId)).toBe(true);
  for (const m of messages) expect(m.raw.toLowerCase()).not.toMatch(/feed\.[ab]@example\.com|anon-feed/);
};

describe('identity change feed on SNS (fauxqs)', () => {
  it('publishes merges, unmerges and erasures inline on the memory store', async () => {
    const { topicArn, queueUrl } = await subscribedTopic();
    const app = await buildApp(
      loadConfig({ C360_STORE: 'memory', C360_TENANT: 'feed-mem', C360_IDENTITY_TOPIC_ARN: topicArn, AWS_ENDPOINT_URL_SNS: endpoint }),
    );
    try {
      const s = await scenario(app, async () => {});
      expectFeed(await drainQueue(queueUrl, 2 + s.receipt.customers.length), s, 'feed-mem');
    } finally {
      await app.close();
    }
  });

  it('publishes them from the DynamoDB Streams projector, after the views', async () => {
    const { topicArn, queueUrl } = await subscribedTopic();
    const run = randomUUID().slice(0, 8);
    const app = await buildApp(
      loadConfig({
        C360_STORE: 'dynamodb',
        C360_TENANT: 'feed-ddb',
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
        ...Object.fromEntries(['EVENTS', 'VIEWS', 'KEYS', 'QUARANTINE', 'AUDIT', 'LEDGER'].map((t) => [`C360_${t}_TABLE`, `feed-${t.toLowerCase()}-${run}`])),
        C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
        C360_MASTER_KEY: randomBytes(32).toString('base64'),
        C360_IDENTITY_TOPIC_ARN: topicArn,
        AWS_ENDPOINT_URL_SNS: endpoint,
      }),
    );
    try {
      await app.startBackground();
      const s = await scenario(app, () => app.drainBackground());
      expectFeed(await drainQueue(queueUrl, 2 + s.receipt.customers.length), s, 'feed-ddb');
    } finally {
      await app.close();
    }
  });
});
