import { randomUUID } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, inject } from 'vitest';
import { createKinesisClient } from '../../src/adapters/kinesis/kinesis.client.js';
import { KinesisIngestQueue } from '../../src/adapters/kinesis/kinesis.producer.js';
import { ensureStream } from '../../src/adapters/kinesis/kinesis.streams.js';
import { ingestQueueContract, type ReceivedRecord } from '../contract/ingest-queue.contract.js';

// The IngestQueue contract on Kinesis (kinesalite, started by the global setup): a two-shard stream
// per test, read back as a consumer does, every shard from its trim horizon. There is no in-memory
// IngestQueue in src (async ingest is wired to Kinesis only), so this is the contract's one runner.

let client: KinesisClient;
beforeAll(() => {
  client = createKinesisClient({ endpoint: inject('kinesisEndpoint'), region: 'us-east-1' });
});
afterAll(() => client.destroy());

/** Every record on the stream, shard by shard, each shard in order (an open shard: until a read brings nothing). */
const readStream = async (streamName: string): Promise<ReceivedRecord[]> => {
  const out: ReceivedRecord[] = [];
  for (const shard of (await client.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? []) {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const records = page.Records ?? [];
      for (const r of records) out.push({ id: r.SequenceNumber!, partitionKey: r.PartitionKey!, data: r.Data ?? new Uint8Array(0) });
      iterator = records.length === 0 ? undefined : page.NextShardIterator;
    }
  }
  return out;
};

ingestQueueContract('Kinesis on kinesalite', async () => {
  const streamName = `contract-${randomUUID()}`;
  await ensureStream(client, streamName, 2);
  return {
    queue: new KinesisIngestQueue(client, { streamName, backoffMs: [1, 5] }),
    received: () => readStream(streamName),
    refusing: () => new KinesisIngestQueue(client, { streamName: `missing-${randomUUID()}`, backoffMs: [1, 5] }),
  };
});
