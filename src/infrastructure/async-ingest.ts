import type { Core } from '../application/core.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import type { CallIntake } from '../application/ingest/intake.js';
import { QueuedIntake } from '../application/ingest/queued-intake.js';
import type { Authenticator } from '../application/ports/access.port.js';
import type { Checkpoints } from '../adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { lazyKinesisClient } from '../adapters/kinesis/kinesis.client.js';
import { KinesisConsumer } from '../adapters/kinesis/kinesis.consumer.js';
import { kinesisIngestHandler } from '../adapters/kinesis/kinesis.ingest.js';
import { KinesisIngestQueue } from '../adapters/kinesis/kinesis.producer.js';
import { encodeKinesisCall, envelopeKey } from '../adapters/kinesis/kinesis.record.js';
import { ensureStream } from '../adapters/kinesis/kinesis.streams.js';
import type { Config } from './config.js';
import { awsClientConfig } from './container.js';

// Async ingest (C360_INGEST_MODE=async): the API validates each call and puts it on Kinesis; a
// consumer (here, or the kinesis Lambda) feeds the core. Loaded only in that mode.

export type AsyncIngest = { readonly intake: CallIntake; readonly consumer?: KinesisConsumer | undefined; close(): void };

export const asyncIngest = async (o: {
  readonly config: Config;
  readonly core: Core;
  readonly auth: Authenticator;
  readonly sourceOf: (tenant: string, name: string) => IngestSource;
  /** a local emulator: create the stream if it is missing */
  readonly local: boolean;
  readonly checkpoints: () => Checkpoints;
  readonly withConsumer: boolean;
}): Promise<AsyncIngest> => {
  const stream = o.config.kinesisStream!;
  const kinesis = lazyKinesisClient(awsClientConfig(o.config.kinesisEndpoint));
  if (o.local || o.config.kinesisEndpoint) await ensureStream(kinesis(), stream, 2);
  // envelopes are signed under the claim secret, which the kinesis function holds too
  const key = envelopeKey(o.config.claimSecret);
  const intake = new QueuedIntake({
    queue: new KinesisIngestQueue(kinesis, { streamName: stream }),
    encode: (call) => encodeKinesisCall(call, key),
    ingest: o.core.ingest,
    ports: o.core.ports,
  });
  const consumer = o.withConsumer
    ? new KinesisConsumer(kinesis, kinesisIngestHandler(o.core, o.sourceOf, { auth: o.auth, defaultTenant: o.config.tenant, envelopeKey: key }), {
        streamName: stream,
        checkpoints: o.checkpoints(),
        onError: (e) => console.warn(`kinesis consumer: ${(e as Error).message}`),
      })
    : undefined;
  return { intake, consumer, close: () => kinesis().destroy() };
};
