import { performance } from 'node:perf_hooks';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp, type App } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
import { startFauxqs } from '../src/infrastructure/local/fauxqs.js';

// Real-time engagement latency: from handing an interest event to ingest until SNS acknowledged the
// offer's publish, on the in-memory store with fauxqs, through the production wiring (buildApp with
// C360_SNS_TOPIC_ARN). With inline projection, ingest returns only after engagement decided,
// committed the decision and published it, so the ingest call's duration bounds ingest-to-ack from
// above; each sample is checked to have published exactly once before ingest returned (the
// engagement_published counter), else the bench fails rather than time something else. A
// subscribed SQS queue then confirms every notification really arrived. Each sample is a fresh
// consenting customer (identify, not timed), so the frequency cap never intervenes.

type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const INTERESTS = ['electronics', 'books', 'fashion', 'home', 'sports', 'beauty', 'toys', 'grocery'];

const subscribedTopic = async (sns: SNSClient, sqs: SQSClient) => {
  const name = `bench-engagement-${Date.now()}`;
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
  return { topicArn: TopicArn!, queueUrl: QueueUrl! };
};

/** Counts what reached the queue, until two polls in a row bring nothing. */
const countDelivered = async (sqs: SQSClient, queueUrl: string): Promise<number> => {
  let n = 0;
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 300 }),
    );
    n += Messages.length;
    empty = Messages.length === 0 ? empty + 1 : 0;
  }
  return n;
};

const sample = async (app: App, run: string, i: number): Promise<number> => {
  const tenant = app.config.tenant;
  const web = app.sourceOf(tenant, 'web');
  const userId = `${run}-u${i}`;
  const identify = {
    type: 'identify',
    messageId: `${userId}-id`,
    userId,
    traits: { email: `${userId}@example.com` },
    context: { consent: { categoryPreferences: { Marketing: true } } },
  };
  if ((await app.core.ingest.ingest(tenant, web, identify)).status !== 'accepted') throw new Error(`engagement bench: identify ${i} refused`);
  const interest = {
    type: 'track',
    messageId: `${userId}-interest`,
    userId,
    event: 'Interest Expressed',
    properties: { interest: INTERESTS[i % INTERESTS.length] },
  };
  const before = app.metrics.get('engagement_published');
  const t0 = performance.now();
  const out = await app.core.ingest.ingest(tenant, web, interest);
  const ms = performance.now() - t0;
  if (out.status !== 'accepted') throw new Error(`engagement bench: interest ${i} refused: ${JSON.stringify(out)}`);
  const published = app.metrics.get('engagement_published') - before;
  if (published !== 1)
    throw new Error(
      `engagement bench: interest ${i} published ${published} notifications before ingest returned, expected 1 (metrics: ${JSON.stringify(app.metrics.snapshot())})`,
    );
  return ms;
};

/** fauxqs at `snsEndpoint`, or one started here for the run. */
export const runEngagementBench = async (snsEndpoint?: string): Promise<Row[]> => {
  const fauxqs = snsEndpoint ? undefined : await startFauxqs();
  const endpoint = snsEndpoint ?? fauxqs!.endpoint;
  const aws = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const sns = new SNSClient(aws);
  const sqs = new SQSClient(aws);
  try {
    const { topicArn, queueUrl } = await subscribedTopic(sns, sqs);
    const app = await buildApp(loadConfig({ C360_STORE: 'memory', C360_TENANT: 'bench', C360_SNS_TOPIC_ARN: topicArn, AWS_ENDPOINT_URL_SNS: endpoint }));
    const warmup = Number(process.env.BENCH_ENGAGEMENT_WARMUP ?? 200);
    const runs = Number(process.env.BENCH_ENGAGEMENT_RUNS ?? 1_000);
    const ms: number[] = [];
    try {
      for (let i = 0; i < warmup; i++) await sample(app, 'warm', i);
      for (let i = 0; i < runs; i++) ms.push(await sample(app, 'run', i));
    } finally {
      await app.close();
    }
    const delivered = await countDelivered(sqs, queueUrl);
    if (delivered !== warmup + runs) throw new Error(`engagement bench: ${delivered} notifications reached the subscribed queue, expected ${warmup + runs}`);
    const p99 = quantile(ms, 0.99);
    const note = `${runs} interest events (after ${warmup} warm-up), each a new consenting customer; ${delivered} messages reached the subscribed SQS queue; max ${Math.max(...ms).toFixed(1)} ms`;
    return [
      { name: 'engagement: interest event to SNS publish acknowledged (memory store, fauxqs)', value: Number(quantile(ms, 0.5).toFixed(2)), unit: 'ms p50' },
      {
        name: 'engagement: interest event to SNS publish acknowledged (memory store, fauxqs)',
        value: Number(p99.toFixed(2)),
        unit: 'ms p99',
        goal: '< 50 ms',
        pass: p99 < 50,
        note,
      },
    ];
  } finally {
    sns.destroy();
    sqs.destroy();
    await fauxqs?.stop();
  }
};
