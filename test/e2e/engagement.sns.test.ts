import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';

// Engagement through the production wiring: buildApp on the memory store with C360_SNS_TOPIC_ARN
// and AWS_ENDPOINT_URL_SNS pointing at fauxqs, and a subscriber's SQS queue on that topic. What the
// subscriber sees is what a downstream system would: one message per sent decision, with the
// offer, the filterable attributes, and nothing for a customer without consent or past the cap.

const endpoint = inject('snsEndpoint');
const sns = new SNSClient({ endpoint });
const sqs = new SQSClient({ endpoint });
const dir = mkdtempSync(join(tmpdir(), 'c360-offers-'));
afterAll(() => {
  sns.destroy();
  sqs.destroy();
  rmSync(dir, { recursive: true, force: true });
});

// four electronics offers (email only, best first by priority) and one that never applies here
const offersFile = join(dir, 'offers.json');
writeFileSync(
  offersFile,
  JSON.stringify({
    offers: [
      { id: 'tv-week', title: 'TVs this week', interests: ['electronics'], channels: ['email'], priority: 90 },
      { id: 'headphones', title: 'Headphones, 15% off', interests: ['electronics'], channels: ['email'], priority: 80 },
      { id: 'laptops', title: 'Laptops for students', interests: ['electronics'], channels: ['email'], priority: 70 },
      { id: 'cables', title: 'Cables at cost', interests: ['electronics'], channels: ['email'], priority: 60 },
      { id: 'garden', title: 'Garden tools', interests: ['garden'], channels: ['email'], priority: 99 },
    ],
  }),
);

const subscribedApp = async (snsEndpoint = endpoint): Promise<{ app: App; queueUrl: string; topicArn: string }> => {
  const name = `engagement-${randomUUID()}`;
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
  const app = await buildApp(
    loadConfig({ C360_STORE: 'memory', C360_TENANT: 'shop', C360_OFFERS_FILE: offersFile, C360_SNS_TOPIC_ARN: TopicArn, AWS_ENDPOINT_URL_SNS: snsEndpoint }),
  );
  return { app, queueUrl: QueueUrl!, topicArn: TopicArn! };
};

/** A TCP relay to fauxqs on 127.0.0.1 that can be closed (SNS unreachable) and opened again on the same port. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async open(): Promise<void> {
    const upstream = new URL(endpoint);
    const server = createServer((client) => {
      const up = connect(Number(upstream.port), upstream.hostname);
      for (const s of [client, up]) this.sockets.add(s.on('close', () => this.sockets.delete(s)).on('error', () => {}));
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

/** Everything in the queue: polls until two polls in a row bring nothing. */
const drain = async (queueUrl: string): Promise<Message[]> => {
  const out: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], VisibilityTimeout: 300 }),
    );
    out.push(...Messages);
    empty = Messages.length === 0 ? empty + 1 : 0;
  }
  return out;
};

const attributes = (m: Message) => Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));

const customer = (app: App, userId: string) => {
  const tenant = app.config.tenant;
  const web = app.sourceOf(tenant, 'web');
  let n = 0;
  const ingest = async (call: Record<string, unknown>) => {
    const out = await app.core.ingest.ingest(tenant, web, { messageId: `${userId}-${++n}`, userId, ...call });
    if (out.status !== 'accepted') throw new Error(`refused: ${JSON.stringify(out)}`);
    return out.customerId;
  };
  return {
    identify: (marketing: boolean | undefined) =>
      ingest({
        type: 'identify',
        traits: { email: `${userId}@example.com`, name: 'Ada Lovelace' },
        ...(marketing === undefined ? {} : { context: { consent: { categoryPreferences: { Marketing: marketing } } } }),
      }),
    interest: (interest: string) => ingest({ type: 'track', event: 'Interest Expressed', properties: { interest } }),
  };
};

const decisions = async (app: App, customerId: string) => {
  const h = await app.core.engagement.history.history(app.config.tenant, customerId);
  if (h.kind !== 'history') throw new Error(`no history for ${customerId}`);
  return h.engagement.decisions;
};

describe('engagement notifications on SNS (fauxqs), memory store', () => {
  it('an interest from a consenting customer delivers exactly one message, with the best offer and the attributes', async () => {
    const { app, queueUrl } = await subscribedApp();
    try {
      const ada = customer(app, 'u-ada');
      await ada.identify(true);
      const id = await ada.interest('electronics');
      const messages = await drain(queueUrl);
      expect(messages).toHaveLength(1);
      const [decision] = await decisions(app, id);
      expect(decision).toMatchObject({ outcome: 'sent', offerId: 'tv-week', channel: 'email' });
      expect(JSON.parse(messages[0]!.Body!)).toEqual({
        decisionId: decision!.decisionId,
        tenant: 'shop',
        customerId: id,
        channel: 'email',
        offerId: 'tv-week',
        offerTitle: 'TVs this week',
        decidedAt: Date.parse(decision!.decidedAt),
      });
      expect(attributes(messages[0]!)).toEqual({ tenant: 'shop', channel: 'email', offerId: 'tv-week', decisionId: decision!.decisionId });
      // ids and the offer only: the subscriber looks the customer up if it needs more (not /ada/:
      // random ids hold it, 1 run in about 140: a customer id ending fd303ada1684 failed CI)
      expect(messages[0]!.Body).not.toMatch(/u-ada|lovelace|example\.com/i);
    } finally {
      await app.close();
    }
  });

  it('sends nothing to a customer without marketing consent, and records why', async () => {
    const { app, queueUrl } = await subscribedApp();
    try {
      const never = customer(app, 'u-never');
      await never.identify(undefined);
      const neverId = await never.interest('electronics');
      const withdrawn = customer(app, 'u-withdrawn');
      await withdrawn.identify(false);
      const withdrawnId = await withdrawn.interest('electronics');
      expect(await drain(queueUrl)).toEqual([]);
      for (const id of [neverId, withdrawnId])
        expect(await decisions(app, id)).toEqual([expect.objectContaining({ outcome: 'suppressed', reason: 'NO_CONSENT', offerId: 'tv-week' })]);
    } finally {
      await app.close();
    }
  });

  it('stops at the frequency cap: five interests in a day bring three messages, three different offers', async () => {
    const { app, queueUrl } = await subscribedApp();
    try {
      const eager = customer(app, 'u-eager');
      await eager.identify(true);
      let id = '';
      for (let i = 0; i < 5; i++) id = await eager.interest('electronics');
      const messages = await drain(queueUrl);
      expect(messages.map((m) => attributes(m).offerId)).toEqual(['tv-week', 'headphones', 'laptops']);
      expect(new Set(messages.map((m) => attributes(m).decisionId)).size).toBe(3);
      const outcomes = (await decisions(app, id)).map((d) => [d.outcome, d.reason]).reverse();
      expect(outcomes).toEqual([
        ['sent', undefined],
        ['sent', undefined],
        ['sent', undefined],
        ['suppressed', 'FREQUENCY_CAP'],
        ['suppressed', 'FREQUENCY_CAP'],
      ]);
    } finally {
      await app.close();
    }
  });

  it('keeps a decision taken while SNS is unreachable, and delivers it once SNS is back', async () => {
    const relay = new Relay();
    await relay.open();
    const { app, queueUrl } = await subscribedApp(`http://127.0.0.1:${relay.port}`);
    try {
      const ada = customer(app, 'u-outage');
      await ada.identify(true);
      await relay.close();
      const id = await ada.interest('electronics');
      expect(await decisions(app, id)).toEqual([expect.objectContaining({ outcome: 'sent', offerId: 'tv-week' })]);
      expect(app.metrics.get('engagement_publish_failed')).toBe(1);
      await app.core.engagement.relay.flush();
      expect(await drain(queueUrl)).toEqual([]);
      await relay.open();
      // the outbox entry is due again after its backoff (1 s after the failed try)
      let published = 0;
      for (let i = 0; i < 50 && published === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        published = (await app.core.engagement.relay.flush()).published;
      }
      expect(published).toBe(1);
      const messages = await drain(queueUrl);
      expect(messages.map((m) => attributes(m).offerId)).toEqual(['tv-week']);
      expect(attributes(messages[0]!).decisionId).toBe((await decisions(app, id))[0]!.decisionId);
    } finally {
      await app.close();
      await relay.close();
    }
  });
});
