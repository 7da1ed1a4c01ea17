import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InvalidLambdaEventError } from '../../src/adapters/lambda/lambda.event.js';
import type { App } from '../../src/infrastructure/app.js';
import { outboxFunction } from '../../src/infrastructure/lambda/functions.js';
import { interestCall } from '../support/engagement-harness.js';
import { appFor, credentials, dynamoEnv, quietly } from '../support/lambda-apps.js';
import { scheduledEvent } from '../support/lambda-events.js';

// The scheduled outbox function on DynamoDB Local and SNS (fauxqs): a decision whose publish failed
// (SNS unreachable while the call was ingested) waits in the DynamoDB outbox; the function, given
// the EventBridge event a schedule sends, publishes it to the topic once, and a subscriber's queue
// receives it.

const snsEndpoint = inject('snsEndpoint');
const sns = new SNSClient({ endpoint: snsEndpoint });
const sqs = new SQSClient({ endpoint: snsEndpoint });
afterAll(() => {
  sns.destroy();
  sqs.destroy();
});

const scheduled = () => scheduledEvent('c360-outbox-flush');

/** A loopback port nothing listens on: SNS is unreachable there. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
};

describe('the outbox function (schedule -> relay.flush) on DynamoDB Local and fauxqs', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  let writer: App;
  let relayApp: App;
  let queueUrl: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    const name = `outbox-${randomUUID()}`;
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    queueUrl = created.QueueUrl!;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
    env = dynamoEnv(inject('dynamoEndpoint'), tenant, credentials(), { C360_PROJECTION: 'inline', C360_SNS_TOPIC_ARN: TopicArn! });
    writer = await appFor({ ...env, AWS_ENDPOINT_URL_SNS: `http://127.0.0.1:${await closedPort()}` });
    relayApp = await appFor({ ...env, AWS_ENDPOINT_URL_SNS: snsEndpoint });
  });
  afterAll(async () => {
    await writer?.close();
    await relayApp?.close();
  });

  const receive = async () =>
    (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))).Messages ??
    [];

  it('publishes a decision whose first publish failed, once, and then finds nothing due', async () => {
    const call = interestCall('out-1', 'electronics', { marketing: true, city: 'Cape Town', messageId: 'out-m1' });
    expect((await writer.core.ingest.ingest(tenant, writer.sourceOf(tenant, 'web'), call)).status).toBe('accepted');
    expect(writer.metrics.get('engagement_publish_failed')).toBe(1);
    const flush = quietly(() => outboxFunction(relayApp, env));
    // the failed entry is due again after its backoff (1 s); before that the function finds nothing
    let report = await flush(scheduled());
    for (let i = 0; i < 40 && report.published === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      report = await flush(scheduled());
    }
    expect(report).toMatchObject({ published: 1, failed: 0, pages: 1 });
    const messages = await receive();
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]!.Body!)).toMatchObject({ tenant, offerId: 'cpt-electronics-collect' });
    expect(await flush(scheduled())).toEqual({ published: 0, failed: 0, discarded: 0, waiting: 0, pages: 1 });
    expect(await receive()).toEqual([]);
  });

  it('refuses an event that is not a schedule (a wrong trigger), naming the fields', async () => {
    const flush = quietly(() => outboxFunction(relayApp, env));
    await expect(flush({ Records: [] })).rejects.toThrow(InvalidLambdaEventError);
    await expect(flush({ Records: [] })).rejects.toThrow(/not a valid EventBridge scheduled event \(version: /);
  });

  it('refuses to start without the topic it publishes to', () => {
    const { C360_SNS_TOPIC_ARN: _, ...noTopic } = env;
    return appFor(noTopic).then(async (app) => {
      try {
        expect(() => outboxFunction(app, noTopic)).toThrow(/C360_SNS_TOPIC_ARN: required by the outbox function/);
      } finally {
        await app.close();
      }
    });
  });
});
