import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { sleep } from './kinesis.client.js';

// Stream set-up for local runs and tests (on AWS the stream comes from infrastructure as code).

const status = async (client: KinesisClient, name: string): Promise<string | undefined> => {
  try {
    return (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus;
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return undefined;
    throw e;
  }
};

/** Creates the stream if it is missing and waits until it is ACTIVE. */
export const ensureStream = async (client: KinesisClient, name: string, shards: number, options: { readonly timeoutMs?: number } = {}): Promise<void> => {
  if ((await status(client, name)) === undefined) {
    try {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e; // created meanwhile by someone else
    }
  }
  await waitActive(client, name, options.timeoutMs);
};

/** Until the stream is ACTIVE again (after creation or a reshard). */
export const waitActive = async (client: KinesisClient, name: string, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(1_000, delay * 2)) {
    const s = await status(client, name);
    if (s === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`Kinesis stream ${name} is ${s ?? 'missing'}, not ACTIVE, after ${timeoutMs} ms`);
    await sleep(delay);
  }
};
