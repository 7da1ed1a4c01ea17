import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { IdentityChange } from '../../src/application/ports/identity-feed.port.js';
import { createSnsClient } from '../../src/adapters/sns/sns.client.js';
import { IdentityFeedError, SnsIdentityFeed } from '../../src/adapters/sns/sns.identity-feed.js';

// SnsIdentityFeed against fauxqs (SNS + SQS in memory, started by the global setup): a topic with
// SQS queues subscribed, as a downstream system would, and what arrives in them.

// the SNS client finds fauxqs the way a deployment finds its endpoint: the SDK's own variable
process.env.AWS_ENDPOINT_URL_SNS = inject('snsEndpoint');
const sns = createSnsClient();
const sqs = new SQSClient({ endpoint: inject('snsEndpoint') });
afterAll(() => {
  sns().destroy();
  sqs.destroy();
});

const TENANT = 'acme';
const merged = (n: number): IdentityChange => ({
  id: `ev-merge-${n}`,
  tenant: TENANT,
  type: 'merged',
  at: 1_767_225_600_000 + n,
  survivorId: `c-s${n}`,
  absorbedId: `c-a${n}`,
  mergeId: `mg-${n}`,
});
const unmerged: IdentityChange = {
  id: 'ev-unmerge-1',
  tenant: TENANT,
  type: 'unmerged',
  at: 1_767_225_700_000,
  survivorId: 'c-s1',
  restoredId: 'c-a1',
  mergeId: 'mg-1',
};
const erased: IdentityChange = { id: 'ev-erase-1', tenant: 'globex', type: 'erased', at: 1_767_225_800_000, customerId: 'c-9', erasureId: 'er-1' };

type Subscribed = { readonly topicArn: string; readonly queueUrl: string };

const topicWithQueue = async (options: { fifo?: boolean; raw?: boolean; filterPolicy?: object } = {}): Promise<Subscribed> => {
  const suffix = options.fifo ? '.fifo' : '';
  const name = `ids-${randomUUID()}`;
  const { TopicArn } = await sns().send(new CreateTopicCommand({ Name: `${name}${suffix}`, Attributes: options.fifo ? { FifoTopic: 'true' } : {} }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}${suffix}`, Attributes: options.fifo ? { FifoQueue: 'true' } : {} }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns().send(
    new SubscribeCommand({
      TopicArn,
      Protocol: 'sqs',
      Endpoint: Attributes!.QueueArn,
      Attributes: { RawMessageDelivery: String(options.raw ?? true), ...(options.filterPolicy ? { FilterPolicy: JSON.stringify(options.filterPolicy) } : {}) },
    }),
  );
  return { topicArn: TopicArn!, queueUrl: QueueUrl! };
};

/** Receives until `count` messages arrived, then once more to show nothing else is on the way. */
const receive = async (queueUrl: string, count: number): Promise<Message[]> => {
  const out: Message[] = [];
  for (let polls = 0; polls < 20 && out.length < count; polls++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    out.push(...Messages);
  }
  const { Messages: more = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
  );
  return [...out, ...more];
};

const attributes = (m: Message) => Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));

describe('SnsIdentityFeed on fauxqs', () => {
  it('publishes each change as its JSON, with tenant, type and change id as message attributes', async () => {
    const { topicArn, queueUrl } = await topicWithQueue();
    await new SnsIdentityFeed(sns, { topicArn }).publish([merged(1), unmerged, erased]);
    const messages = await receive(queueUrl, 3);
    expect(messages.map((m) => JSON.parse(m.Body!))).toEqual([merged(1), unmerged, erased]);
    expect(messages.map(attributes)).toEqual([
      { tenant: TENANT, type: 'merged', changeId: 'ev-merge-1' },
      { tenant: TENANT, type: 'unmerged', changeId: 'ev-unmerge-1' },
      { tenant: 'globex', type: 'erased', changeId: 'ev-erase-1' },
    ]);
  });

  it('sends the change fields only, whatever else the object carries', async () => {
    const { topicArn, queueUrl } = await topicWithQueue();
    const smuggled = {
      ...merged(2),
      email: 'ada@example.com',
      evidence: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
    } as unknown as IdentityChange;
    await new SnsIdentityFeed(sns, { topicArn }).publish([smuggled]);
    const [message] = await receive(queueUrl, 1);
    expect(message!.Body).not.toMatch(/ada@example\.com|evidence/i);
    expect(JSON.parse(message!.Body!)).toEqual(merged(2));
  });

  it('publishes more than a batch (10) in order, every change once', async () => {
    const { topicArn, queueUrl } = await topicWithQueue();
    const changes = Array.from({ length: 23 }, (_, i) => merged(i));
    await new SnsIdentityFeed(sns, { topicArn }).publish(changes);
    const messages = await receive(queueUrl, 23);
    expect(messages.map((m) => JSON.parse(m.Body!).id)).toEqual(changes.map((c) => c.id));
  });

  it('lets a subscriber filter on the type attribute', async () => {
    const { topicArn, queueUrl } = await topicWithQueue({ filterPolicy: { type: ['erased'] } });
    await new SnsIdentityFeed(sns, { topicArn }).publish([merged(3), erased, unmerged]);
    const messages = await receive(queueUrl, 1);
    expect(messages.map((m) => JSON.parse(m.Body!))).toEqual([erased]);
  });

  it('delivers a change published again (a redelivered event) with the same id, so subscribers can drop it', async () => {
    const { topicArn, queueUrl } = await topicWithQueue({ raw: false });
    const feed = new SnsIdentityFeed(sns, { topicArn });
    await feed.publish([merged(4)]);
    await feed.publish([merged(4)]);
    const messages = await receive(queueUrl, 2);
    expect(messages).toHaveLength(2);
    // without raw delivery the SQS body is SNS's envelope, holding the message and its attributes
    const envelopes = messages.map((m) => JSON.parse(m.Body!) as { Message: string; MessageAttributes: Record<string, { Value: string }> });
    expect(envelopes.map((e) => JSON.parse(e.Message).id)).toEqual(['ev-merge-4', 'ev-merge-4']);
    expect(envelopes.map((e) => e.MessageAttributes.changeId?.Value)).toEqual(['ev-merge-4', 'ev-merge-4']);
    expect(new Set(envelopes.map((e) => e.Message)).size).toBe(1);
  });

  it('on a FIFO topic, groups by tenant and deduplicates by change id', async () => {
    const { topicArn, queueUrl } = await topicWithQueue({ fifo: true });
    const feed = new SnsIdentityFeed(sns, { topicArn });
    await feed.publish([merged(5), erased]);
    await feed.publish([merged(5)]);
    const messages = await receive(queueUrl, 2);
    // two groups: no order between them
    expect(messages.map((m) => [JSON.parse(m.Body!).id, m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId]).sort()).toEqual([
      ['ev-erase-1', 'globex', 'ev-erase-1'],
      ['ev-merge-5', TENANT, 'ev-merge-5'],
    ]);
  });

  it('throws a coded error naming the changes when the topic does not exist, so the caller delivers again', async () => {
    const topicArn = `arn:aws:sns:us-east-1:000000000000:missing-${randomUUID()}`;
    const error = await new SnsIdentityFeed(sns, { topicArn }).publish([merged(6), erased]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityFeedError);
    expect(error).toMatchObject({ code: expect.stringMatching(/^IDENTITY_FEED_/), failed: [{ id: 'ev-merge-6' }, { id: 'ev-erase-1' }] });
  });

  it('publishes nothing for no changes, and refuses a topic that is not an SNS ARN', async () => {
    await expect(new SnsIdentityFeed(sns, { topicArn: 'arn:aws:sns:us-east-1:000000000000:unused' }).publish([])).resolves.toBeUndefined();
    expect(() => new SnsIdentityFeed(sns, { topicArn: 'identity-changes' })).toThrow(/C360_IDENTITY_TOPIC_ARN must be an SNS topic ARN/);
  });
});
