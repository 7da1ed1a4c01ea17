import { ExpiredIteratorException, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type _Record } from '@aws-sdk/client-kinesis';
import type { Checkpoints } from '../dynamodb/dynamodb.stream-checkpoints.js';
import { ShardPoller, type RoundResult, type ShardInfo, type ShardSource } from '../streaming/shard-poller.js';
import { resolveClient, type KinesisClientSource } from './kinesis.client.js';
import type { KinesisFailureCause, KinesisInputRecord } from './kinesis.ingest.js';

// Polls every shard of a Kinesis stream outside Lambda, as the Lambda event source mapping would,
// on one process (the shared ShardPoller does the shard work). The handler reports failures per
// record; the first failed record in the batch is where reading starts again, after a backoff.

export interface KinesisBatchHandler {
  /** `cause`: why the first failed record failed (logged with the retry), never the record's content */
  handle(records: readonly KinesisInputRecord[]): Promise<{ readonly failures: readonly string[]; readonly cause?: KinesisFailureCause | undefined }>;
}

export type KinesisConsumerOptions = {
  readonly streamName: string;
  readonly checkpoints: Checkpoints;
  /** the checkpoints' stream key; defaults to the stream name */
  readonly checkpointName?: string | undefined;
  /** GetRecords Limit (at most 10,000) */
  readonly batchSize?: number | undefined;
  /** pause after a round that found nothing, doubling from the first to the second value */
  readonly idleDelayMs?: readonly [number, number] | undefined;
  /** pause before a failed shard is read again, doubling from the first to the second value */
  readonly retryDelayMs?: readonly [number, number] | undefined;
  /** how often the shard list is read again (a reshard adds shards) */
  readonly shardRefreshMs?: number | undefined;
  readonly onBatch?: ((shardId: string, records: number, failures: readonly string[]) => void) | undefined;
  readonly onError?: ((error: unknown) => void) | undefined;
};

export type { RoundResult };

class BatchFailed extends Error {
  constructor(shardId: string, first: string, count: number, cause: KinesisFailureCause | undefined) {
    const why = cause ? ` (${cause.name}${cause.code ? ` ${cause.code}` : ''}: ${cause.message})` : '';
    super(`shard ${shardId}: ${count} record(s) failed from ${first}${why}; read again from there after a pause`);
  }
}

const toInput = (r: _Record): KinesisInputRecord => ({
  sequenceNumber: r.SequenceNumber!,
  data: r.Data ?? new Uint8Array(),
  partitionKey: r.PartitionKey,
  arrivedAt: r.ApproximateArrivalTimestamp?.getTime(),
});

const kinesisShards = (client: KinesisClientSource, handler: KinesisBatchHandler, options: KinesisConsumerOptions): ShardSource<KinesisInputRecord> => ({
  async *listShards(): AsyncIterable<ShardInfo> {
    let token: string | undefined;
    do {
      // ListShards takes the stream name or a NextToken, never both
      const out = await resolveClient(client).send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: options.streamName }));
      for (const shard of out.Shards ?? []) {
        if (shard.ShardId)
          yield {
            id: shard.ShardId,
            parents: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => typeof p === 'string' && p !== ''),
          };
      }
      token = out.NextToken;
    } while (token);
  },
  async iterator(shardId, after) {
    const out = await resolveClient(client).send(
      new GetShardIteratorCommand({
        StreamName: options.streamName,
        ShardId: shardId,
        ...(after === undefined ? { ShardIteratorType: 'TRIM_HORIZON' } : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }),
      }),
    );
    return out.ShardIterator ?? undefined;
  },
  async getRecords(iterator) {
    const out = await resolveClient(client).send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize ?? 1_000 }));
    const records = (out.Records ?? []).filter((r) => r.SequenceNumber).map(toInput);
    return { records, next: out.NextShardIterator ?? undefined, behind: (out.MillisBehindLatest ?? 0) > 0 };
  },
  sequenceNumber: (r) => r.sequenceNumber,
  async handle(shardId, records) {
    const { failures, cause } = await handler.handle(records);
    options.onBatch?.(shardId, records.length, failures);
    const failed = new Set(failures);
    // a failure the batch does not hold is not this batch's to read again
    const at = failed.size === 0 ? -1 : records.findIndex((r) => failed.has(r.sequenceNumber));
    if (at < 0) return undefined;
    return { sequenceNumber: records[at]!.sequenceNumber, error: new BatchFailed(shardId, records[at]!.sequenceNumber, records.length - at, cause) };
  },
  classify: (e) => (e instanceof ExpiredIteratorException ? 'expired' : undefined),
});

export class KinesisConsumer {
  private readonly poller: ShardPoller<KinesisInputRecord>;

  constructor(
    client: KinesisClientSource,
    handler: KinesisBatchHandler,
    private readonly options: KinesisConsumerOptions,
  ) {
    this.poller = new ShardPoller(kinesisShards(client, handler, options), {
      checkpoints: options.checkpoints,
      checkpointName: options.checkpointName ?? options.streamName,
      idleDelayMs: options.idleDelayMs ?? [100, 1_000],
      retryDelayMs: options.retryDelayMs ?? [100, 5_000],
      shardRefreshMs: options.shardRefreshMs ?? 10_000,
      // shards are independent once their parents are done: read them side by side
      parallel: true,
      onError: options.onError,
    });
  }

  start(): void {
    this.poller.start();
  }

  /** Finishes the batches in hand (and their checkpoints), then stops; no timer is left behind. */
  stop(): Promise<void> {
    return this.poller.stop();
  }

  /** One pass over every shard that may be read now: at most one batch per shard. */
  runOnce(): Promise<RoundResult> {
    return this.poller.round();
  }

  /** runOnce until two rounds in a row find nothing and nothing waits for a retry (for tests and tools). */
  async drain(options: { readonly timeoutMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let [total, quiet] = [0, 0];
    while (quiet < 2) {
      if (Date.now() > deadline) throw new Error(`stream ${this.options.streamName} did not drain in ${options.timeoutMs ?? 30_000} ms`);
      const round = await this.runOnce();
      total += round.records;
      quiet = round.records > 0 || round.pending ? 0 : quiet + 1;
      if (round.records === 0) await this.poller.sleep(this.options.idleDelayMs?.[0] ?? 20);
    }
    return total;
  }
}
