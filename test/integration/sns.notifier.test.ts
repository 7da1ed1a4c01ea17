import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Notification } from '../../src/application/ports/notifier.port.js';
import { createSnsClient } from '../../src/adapters/sns/sns.client.js';
import { NotifierError, SnsNotifier } from '../../src/adapters/sns/sns.notifier.js';

// SnsNotifier against fauxqs (SNS + SQS in memory, started by the global setup): a topic with SQS
// queues subscribed, as a downstream system would, and what arrives in them.

// the SNS client finds fauxqs the way a deployment does: the SDK's own variable
process.env.AWS_ENDPOINT_URL_SNS = inject('snsEndpoint');
const sns = createSnsClient();
const sqs = new SQSClient({ endpoint: inject('snsEndpoint') });
afterAll(() => {
  sns().destroy();
  sqs.destroy();
});

const decision = (n: number, overrides: Partial<Notification> = {}): Notification => ({
  decisionId: `dec-${n}`,
  tenant: 'acme',
  customerId: `0197a000-0000-7000-8000-00000000000${n % 10}`,
  channel: 'email',
  offerId: `offer-${n}`,
  offerTitle: `Offer number ${n}`,
  decidedAt: 1_767_225_600_000 + n,
  ...overrides,
});

const topicWithQueue = async (options: { fifo?: boolean; filterPolicy?: object } = {}) => {
  const suffix = options.fifo ? '.fifo' : '';
  const name = `offers-${randomUUID()}`;
  const { TopicArn } = await sns().send(new CreateTopicCommand({ Name: `${name}${suffix}`, Attributes: options.fifo ? { FifoTopic: 'true' } : {} }));
  const subscribe = async (filterPolicy?: object) => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `${name}-${randomUUID().slice(0, 8)}${suffix}`, Attributes: options.fifo ? { FifoQueue: 'true' } : {} }),
    );
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const attributes = { RawMessageDelivery: 'true', ...(filterPolicy ? { FilterPolicy: JSON.stringify(filterPolicy) } : {}) };
    await sns().send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: attributes }));
    return QueueUrl!;
  };
  return { topicArn: TopicArn!, subscribe };
};

/** Receives until `count` messages arrived, then once more to show nothing else is on the way. */
const receive = async (queueUrl: string, count: number): Promise<Message[]> => {
  const out: Message[] = [];
  const poll = async () =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
          VisibilityTimeout: 60,
        }),
      )
    ).Messages ?? [];
  for (let polls = 0; polls < 20 && out.length < count; polls++) out.push(...(await poll()));
  return [...out, ...(await poll())];
};

const attributes = (m: Message) => Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, [v.DataType, v.StringValue]]));

describe('SnsNotifier on fauxqs', () => {
  it('publishes a decision as its JSON, with tenant, channel, offer id and decision id as String attributes', async () => {
    const { topicArn, subscribe } = await topicWithQueue();
    const queue = await subscribe();
    await new SnsNotifier(sns, { topicArn }).publish(decision(1));
    const messages = await receive(queue, 1);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]!.Body!)).toEqual(decision(1));
    expect(attributes(messages[0]!)).toEqual({
      tenant: ['String', 'acme'],
      channel: ['String', 'email'],
      offerId: ['String', 'offer-1'],
      decisionId: ['String', 'dec-1'],
    });
  });

  it('sends the notification fields only, whatever else the object carries', async () => {
    const { topicArn, subscribe } = await topicWithQueue();
    const queue = await subscribe();
    const smuggled = { ...decision(2), email: 'ada@example.com', traits: { name: 'Ada Lovelace' } } as Notification;
    await new SnsNotifier(sns, { topicArn }).publish(smuggled);
    const [message] = await receive(queue, 1);
    expect(message!.Body).not.toMatch(/ada|lovelace|traits/i);
    expect(JSON.parse(message!.Body!)).toEqual(decision(2));
  });

  it('delivers one message per publish, and a republished decision again with the same decision id', async () => {
    const { topicArn, subscribe } = await topicWithQueue();
    const queue = await subscribe();
    const notifier = new SnsNotifier(sns, { topicArn });
    for (const n of [3, 4, 5]) await notifier.publish(decision(n));
    await notifier.publish(decision(3));
    const messages = await receive(queue, 4);
    expect(messages.map((m) => JSON.parse(m.Body!).decisionId)).toEqual(['dec-3', 'dec-4', 'dec-5', 'dec-3']);
    // at-least-once on a standard topic: the subscriber drops the repeat by its attribute
    expect(messages.map((m) => m.MessageAttributes?.decisionId?.StringValue)).toEqual(['dec-3', 'dec-4', 'dec-5', 'dec-3']);
  });

  it('lets a subscriber filter on channel: an email-only queue gets email decisions, another queue all of them', async () => {
    const { topicArn, subscribe } = await topicWithQueue();
    const emailOnly = await subscribe({ channel: ['email'] });
    const everything = await subscribe();
    const notifier = new SnsNotifier(sns, { topicArn });
    await notifier.publish(decision(6, { channel: 'sms' }));
    await notifier.publish(decision(7, { channel: 'email' }));
    await notifier.publish(decision(8, { channel: 'push' }));
    expect((await receive(emailOnly, 1)).map((m) => JSON.parse(m.Body!).decisionId)).toEqual(['dec-7']);
    expect((await receive(everything, 3)).map((m) => JSON.parse(m.Body!).decisionId)).toEqual(['dec-6', 'dec-7', 'dec-8']);
  });

  it('on a FIFO topic, groups by tenant and customer and lets SNS drop a republished decision', async () => {
    const { topicArn, subscribe } = await topicWithQueue({ fifo: true });
    const queue = await subscribe();
    const notifier = new SnsNotifier(sns, { topicArn });
    await notifier.publish(decision(1));
    await notifier.publish(decision(2, { tenant: 'globex' }));
    await notifier.publish(decision(1));
    const messages = await receive(queue, 2);
    expect(messages.map((m) => [JSON.parse(m.Body!).decisionId, m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId]).sort()).toEqual([
      ['dec-1', `acme:${decision(1).customerId}`, 'dec-1'],
      ['dec-2', `globex:${decision(2).customerId}`, 'dec-2'],
    ]);
  });

  it('throws NOTIFIER_REJECTED after one try when the topic does not exist, naming the decision and the variable', async () => {
    const topicArn = `arn:aws:sns:us-east-1:000000000000:missing-${randomUUID()}`;
    const error = await new SnsNotifier(sns, { topicArn }).publish(decision(9)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotifierError);
    expect(error).toMatchObject({
      code: 'NOTIFIER_REJECTED',
      decisionId: 'dec-9',
      attempts: 1,
      message: expect.stringMatching(/NotFound.*C360_SNS_TOPIC_ARN/),
    });
  });

  it('refuses a topic that is not an SNS ARN, naming C360_SNS_TOPIC_ARN', () => {
    for (const topicArn of ['offers', 'arn:aws:sqs:us-east-1:000000000000:offers', 'arn:aws:sns:us-east-1:000000000000:']) {
      expect(() => new SnsNotifier(sns, { topicArn })).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          path: ['C360_SNS_TOPIC_ARN'],
          message: expect.stringMatching(/^C360_SNS_TOPIC_ARN must be an SNS topic ARN/),
        }),
      );
    }
  });

  it('refuses a notification without an attribute value before calling SNS, naming the field', async () => {
    // a topic that does not exist: had the notifier called SNS, the error would be NOTIFIER_REJECTED
    const notifier = new SnsNotifier(sns, { topicArn: `arn:aws:sns:us-east-1:000000000000:unused-${randomUUID()}` });
    await expect(notifier.publish(decision(1, { offerId: '' }))).rejects.toMatchObject({ code: 'NOTIFICATION_INVALID', path: ['offerId'], attempts: 0 });
    const fifo = new SnsNotifier(sns, { topicArn: `arn:aws:sns:us-east-1:000000000000:unused-${randomUUID()}.fifo` });
    await expect(fifo.publish(decision(1, { decisionId: 'd'.repeat(129) }))).rejects.toMatchObject({ code: 'NOTIFICATION_INVALID', path: ['decisionId'] });
  });
});
