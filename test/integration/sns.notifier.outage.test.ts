import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Notification } from '../../src/application/ports/notifier.port.js';
import { NotifierError, SnsNotifier } from '../../src/adapters/sns/sns.notifier.js';

// SNS unreachable, throttling, failing or hanging. Reaching fauxqs goes through a TCP relay on
// 127.0.0.1 that the tests close (connections refused, open ones reset) and open again on the same
// port: fauxqs keeps its topics meanwhile, as SNS does through a network outage. Error answers come
// from a small stand-in for SNS's query protocol that each test scripts. The SDK clients make one
// try per call here, so every try counted is the notifier's own.

const fauxqs = new URL(inject('snsEndpoint'));

class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(fauxqs.port), fauxqs.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s)).on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
    this.server = undefined;
  }
}

type Answer = { status: number; code?: string; type?: 'Sender' | 'Receiver' } | 'hang';
let script: (request: number) => Answer = () => ({ status: 200 });
let requests = 0;
const standIn: HttpServer = createHttpServer((req, res) => {
  req.resume().on('end', () => {
    const answer = script(++requests);
    if (answer === 'hang') return;
    if (answer.status === 200) {
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${requests}</MessageId></PublishResult><ResponseMetadata><RequestId>r-${requests}</RequestId></ResponseMetadata></PublishResponse>`,
        );
      return;
    }
    res
      .writeHead(answer.status, { 'content-type': 'text/xml' })
      .end(
        `<ErrorResponse><Error><Type>${answer.type}</Type><Code>${answer.code}</Code><Message>scripted</Message></Error><RequestId>r-${requests}</RequestId></ErrorResponse>`,
      );
  });
});

const relay = new Relay();
let viaRelay: SNSClient;
let toStandIn: SNSClient;
const sqs = new SQSClient({ endpoint: fauxqs.origin });
const delays: number[] = [];
const recordSleep = async (ms: number) => void delays.push(ms);

beforeAll(async () => {
  await relay.open();
  viaRelay = new SNSClient({ endpoint: `http://127.0.0.1:${relay.port}`, maxAttempts: 1 });
  await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
  toStandIn = new SNSClient({ endpoint: `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`, maxAttempts: 1 });
});
afterAll(async () => {
  for (const c of [viaRelay, toStandIn, sqs]) c.destroy();
  await relay.close();
  standIn.closeAllConnections();
  await new Promise((r) => standIn.close(r));
});
beforeEach(() => {
  delays.length = 0;
  requests = 0;
});

const decision = (n: number): Notification => ({
  decisionId: `dec-out-${n}`,
  tenant: 'acme',
  customerId: `c-${n}`,
  channel: 'email',
  offerId: 'offer-tv',
  offerTitle: 'TVs this week',
  decidedAt: 1_767_225_600_000 + n,
});

const subscribedTopic = async () => {
  const name = `outage-${randomUUID()}`;
  const { TopicArn } = await viaRelay.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await viaRelay.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
  return { topicArn: TopicArn!, queueUrl: QueueUrl! };
};

const received = async (queueUrl: string, polls: number): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < polls; i++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    out.push(...Messages.map((m) => JSON.parse(m.Body!).decisionId as string));
  }
  return out;
};

describe('SnsNotifier when SNS is unreachable', () => {
  it('throws NOTIFIER_UNAVAILABLE after its bounded, backed-off tries while SNS cannot be reached, and publishes once it is back', async () => {
    const { topicArn, queueUrl } = await subscribedTopic();
    const notifier = new SnsNotifier(viaRelay, { topicArn, maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300, sleep: recordSleep });
    await relay.close();
    try {
      const error = await notifier.publish(decision(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotifierError);
      expect(error).toMatchObject({
        code: 'NOTIFIER_UNAVAILABLE',
        decisionId: 'dec-out-1',
        attempts: 4,
        message: expect.stringMatching(/after 4 attempts \(.*ECONNREFUSED.*\); it stays pending/),
      });
      // full jitter below a growing bound, capped
      expect(delays).toHaveLength(3);
      delays.forEach((d, i) => expect(d).toBeLessThanOrEqual(Math.min(300, 100 * 2 ** (i + 1))));
    } finally {
      await relay.open();
    }
    expect(await received(queueUrl, 1)).toEqual([]);
    await notifier.publish(decision(1));
    expect(await received(queueUrl, 2)).toEqual(['dec-out-1']);
  });

  it('rides out an outage shorter than its tries: the publish under way succeeds once SNS is back, delivered once', async () => {
    const { topicArn, queueUrl } = await subscribedTopic();
    let failures = 0;
    // SNS comes back during the second wait
    const notifier = new SnsNotifier(viaRelay, {
      topicArn,
      maxAttempts: 5,
      sleep: async (ms) => (delays.push(ms), ++failures === 2 ? relay.open() : undefined),
    });
    await relay.close();
    await notifier.publish(decision(2));
    expect(failures).toBe(2);
    expect(await received(queueUrl, 2)).toEqual(['dec-out-2']);
  });
});

describe('SnsNotifier on SNS errors', () => {
  const topicArn = 'arn:aws:sns:us-east-1:000000000000:offers';

  it('tries again on throttling and on SNS faults, until SNS accepts', async () => {
    script = (n) =>
      n === 1 ? { status: 400, code: 'Throttling', type: 'Sender' } : n === 2 ? { status: 500, code: 'InternalError', type: 'Receiver' } : { status: 200 };
    await new SnsNotifier(toStandIn, { topicArn, sleep: recordSleep }).publish(decision(3));
    expect(requests).toBe(3);
    expect(delays).toHaveLength(2);
  });

  it("does not try again what SNS calls the sender's fault", async () => {
    script = () => ({ status: 403, code: 'AuthorizationError', type: 'Sender' });
    const error = await new SnsNotifier(toStandIn, { topicArn, sleep: recordSleep }).publish(decision(4)).catch((e: unknown) => e);
    expect(requests).toBe(1);
    expect(error).toMatchObject({
      code: 'NOTIFIER_REJECTED',
      attempts: 1,
      message: expect.stringMatching(/AuthorizationError.*check C360_SNS_TOPIC_ARN and the topic's permissions/),
    });
  });

  it('abandons a try SNS never answers, and throws NOTIFIER_UNAVAILABLE after the last', async () => {
    script = () => 'hang';
    const error = await new SnsNotifier(toStandIn, { topicArn, maxAttempts: 2, attemptTimeoutMs: 200, sleep: recordSleep })
      .publish(decision(5))
      .catch((e: unknown) => e);
    expect(requests).toBe(2);
    expect(error).toMatchObject({ code: 'NOTIFIER_UNAVAILABLE', attempts: 2 });
  });
});
