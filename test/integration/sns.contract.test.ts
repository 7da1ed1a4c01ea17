import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, inject } from 'vitest';
import { createSnsClient } from '../../src/adapters/sns/sns.client.js';
import { SnsIdentityFeed } from '../../src/adapters/sns/sns.identity-feed.js';
import { SnsNotifier } from '../../src/adapters/sns/sns.notifier.js';
import { identityFeedContract, type DeliveredChange } from '../contract/identity-feed.contract.js';
import { notifierContract, type DeliveredNotification } from '../contract/notifier.contract.js';

// The Notifier and IdentityFeed contracts on SNS (fauxqs, started by the global setup), on a
// standard and on a FIFO topic: each test gets a topic with an SQS queue subscribed (raw delivery),
// as a downstream system would, and the contract reads what arrived in the queue. "Unreachable" is
// an SNS client pointed at a loopback port nobody listens on.

process.env.AWS_ENDPOINT_URL_SNS = inject('snsEndpoint');
const sns = createSnsClient();
const sqs = new SQSClient({ endpoint: inject('snsEndpoint') });
let unreachable: SNSClient;

beforeAll(async () => {
  // a port that was free a moment ago and is closed now: connections are refused at once
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  unreachable = new SNSClient({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
});
afterAll(() => {
  sns().destroy();
  sqs.destroy();
  unreachable.destroy();
});

/** A topic with one SQS queue subscribed, and everything that queue received so far. */
const subscribedTopic = async (fifo: boolean) => {
  const suffix = fifo ? '.fifo' : '';
  const name = `contract-${randomUUID()}`;
  const { TopicArn } = await sns().send(new CreateTopicCommand({ Name: `${name}${suffix}`, Attributes: fifo ? { FifoTopic: 'true' } : {} }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}${suffix}`, Attributes: fifo ? { FifoQueue: 'true' } : {} }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns().send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
  const received: Message[] = [];
  const poll = async (waitSeconds: number): Promise<number> => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    received.push(...Messages);
    // deleted once read, as a consumer does (a FIFO group hands out nothing more while messages are in flight)
    if (Messages.length > 0)
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    return Messages.length;
  };
  /**
   * Receives until `count` messages arrived in all (or nothing came for 10 s), then until a poll
   * brings nothing, to show what else is on the way. fauxqs hands out one message of a FIFO group
   * per receive, so a FIFO queue takes one poll per message.
   */
  const receive = async (count: number): Promise<Message[]> => {
    for (let idle = 0; received.length < count && idle < 10; ) idle = (await poll(1)) === 0 ? idle + 1 : 0;
    for (let polls = 0; polls < 100 && (await poll(1)) > 0; polls++);
    return [...received];
  };
  return { topicArn: TopicArn!, receive };
};

const attribute = (m: Message, name: string): string | undefined => m.MessageAttributes?.[name]?.StringValue;

for (const fifo of [false, true]) {
  const kind = fifo ? 'SNS FIFO topic on fauxqs' : 'SNS standard topic on fauxqs';

  notifierContract(kind, { dropsRepeats: fifo, ordersPerCustomer: fifo }, async () => {
    const { topicArn, receive } = await subscribedTopic(fifo);
    // a FIFO subscriber may also read the deduplication id SNS kept; it must be the decision id
    const delivered = async (count: number): Promise<DeliveredNotification[]> =>
      (await receive(count)).map((m) => ({
        body: JSON.parse(m.Body!),
        dedupId:
          fifo && m.Attributes?.MessageDeduplicationId !== attribute(m, 'decisionId')
            ? `mismatch: ${m.Attributes?.MessageDeduplicationId}`
            : attribute(m, 'decisionId'),
        group: m.Attributes?.MessageGroupId,
      }));
    return { notifier: new SnsNotifier(sns, { topicArn }), delivered, failing: () => new SnsNotifier(unreachable, { topicArn, maxAttempts: 1 }) };
  });

  identityFeedContract(kind, { ordersPerTenant: fifo }, async () => {
    const { topicArn, receive } = await subscribedTopic(fifo);
    const delivered = async (count: number): Promise<DeliveredChange[]> =>
      (await receive(count)).map((m) => ({
        body: JSON.parse(m.Body!),
        dedupId:
          fifo && m.Attributes?.MessageDeduplicationId !== attribute(m, 'changeId')
            ? `mismatch: ${m.Attributes?.MessageDeduplicationId}`
            : attribute(m, 'changeId'),
        group: m.Attributes?.MessageGroupId,
      }));
    return { feed: new SnsIdentityFeed(sns, { topicArn }), delivered, failing: () => new SnsIdentityFeed(unreachable, { topicArn, maxAttempts: 1 }) };
  });
}
