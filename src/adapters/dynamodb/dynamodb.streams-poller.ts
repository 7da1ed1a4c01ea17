import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import { ShardPoller, type RoundResult, type ShardInfo, type ShardSource } from '../streaming/shard-poller.js';
import type { Checkpoints } from './dynamodb.stream-checkpoints.js';
import type { DynamoDbStreamRecord, StreamBatchResult } from './dynamodb.streams-projector.js';

// Drives the streams projector core outside Lambda: what the Lambda event source mapping does,
// on one process (the shared ShardPoller does the shard work, parent before child, since per-item
// order depends on it). A failed batch is read again from its checkpoint after a backoff, so every
// record is projected at least once; drain may watch the running loop instead of racing it.

export interface StreamBatchHandler {
  handle(records: readonly DynamoDbStreamRecord[]): Promise<StreamBatchResult>;
}

export type StreamsPollerOptions = {
  readonly streamArn: string;
  readonly checkpoints: Checkpoints;
  /** GetRecords Limit (at most 1,000) */
  readonly batchSize?: number;
  /** pause after a round that found nothing, doubling from the first to the second value */
  readonly idleDelayMs?: readonly [number, number];
  /** pause before a failed shard is read again, doubling from the first to the second value */
  readonly retryDelayMs?: readonly [number, number];
  /** how often the shard list is described again (new shards appear as old ones close) */
  readonly shardRefreshMs?: number;
  /** after each batch handled, with the number of records it held */
  readonly onBatch?: (shardId: string, result: StreamBatchResult, records: number) => void;
  readonly onError?: (error: unknown) => void;
};

export type { RoundResult };

class BatchFailed extends Error {
  constructor(
    readonly shardId: string,
    readonly errors: readonly unknown[],
  ) {
    super(`shard ${shardId}: a batch failed and will be read again from its checkpoint (${errors.map(String).join('; ')})`);
  }
}

const streamShards = (streams: DynamoDBStreamsClient, handler: StreamBatchHandler, options: StreamsPollerOptions): ShardSource<DynamoDbStreamRecord> => ({
  async *listShards(): AsyncIterable<ShardInfo> {
    let start: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: options.streamArn, ExclusiveStartShardId: start }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        if (shard.ShardId) yield { id: shard.ShardId, parents: shard.ParentShardId === undefined ? [] : [shard.ParentShardId] };
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  },
  async iterator(shardId, after) {
    const out = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: options.streamArn,
        ShardId: shardId,
        ...(after === undefined ? { ShardIteratorType: 'TRIM_HORIZON' } : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }),
      }),
    );
    return out.ShardIterator;
  },
  async getRecords(iterator) {
    const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize ?? 500 }));
    return { records: out.Records ?? [], next: out.NextShardIterator, behind: false };
  },
  sequenceNumber: (r) => r.dynamodb?.SequenceNumber,
  async handle(shardId, records) {
    const result = await handler.handle(records);
    options.onBatch?.(shardId, result, records.length);
    const failed = result.batchItemFailures[0]?.itemIdentifier;
    return failed === undefined ? undefined : { sequenceNumber: failed, error: new BatchFailed(shardId, result.errors) };
  },
  classify: (e) => (e instanceof ExpiredIteratorException ? 'expired' : e instanceof TrimmedDataAccessException ? 'trimmed' : undefined),
  trimmed(shardId, checkpoint, e) {
    // from a checkpoint: it is older than the stream's retention, records were lost and a
    // rebuild is due. From the trim horizon (DynamoDB Local answers so for an iterator taken
    // on an empty shard) nothing was skipped: the next read takes a fresh iterator.
    if (checkpoint !== undefined)
      options.onError?.(new Error(`shard ${shardId}: records past the checkpoint were trimmed; rebuild the projections`, { cause: e }));
  },
});

export class DynamoDbStreamsPoller {
  private readonly poller: ShardPoller<DynamoDbStreamRecord>;
  private readonly watchers = new Set<(r: RoundResult | undefined) => void>();

  constructor(
    streams: DynamoDBStreamsClient,
    handler: StreamBatchHandler,
    private readonly options: StreamsPollerOptions,
  ) {
    this.poller = new ShardPoller(streamShards(streams, handler, options), {
      checkpoints: options.checkpoints,
      checkpointName: options.streamArn,
      idleDelayMs: options.idleDelayMs ?? [50, 1_000],
      retryDelayMs: options.retryDelayMs ?? [100, 5_000],
      shardRefreshMs: options.shardRefreshMs ?? 10_000,
      // one shard after another, so a stop is seen between shards
      parallel: false,
      onRound: (round) => {
        for (const w of this.watchers) w(round);
      },
      onError: options.onError,
    });
  }

  start(): void {
    this.poller.start();
  }

  /** Finishes the batch in hand (and its checkpoint), then stops; no timer is left behind. */
  async stop(): Promise<void> {
    await this.poller.stop();
    for (const w of this.watchers) w(undefined);
  }

  /** Until two rounds in a row find nothing and nothing has moved for `quietMs` (for tests). */
  async drain(options: { readonly quietMs?: number; readonly timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let quiet = 0;
    let lastActivity = Date.now();
    const settled = (r: RoundResult): boolean => {
      if (r.records > 0 || r.pending) [quiet, lastActivity] = [0, Date.now()];
      else quiet++;
      if (quiet >= 2 && Date.now() - lastActivity >= (options.quietMs ?? 300)) return true;
      if (Date.now() > deadline) throw new Error(`stream ${this.options.streamArn} did not drain in ${options.timeoutMs ?? 30_000} ms`);
      return false;
    };
    if (this.poller.running) {
      // the running loop polls; only watch its rounds
      return new Promise<void>((resolve, reject) => {
        const watch = (r: RoundResult | undefined) => {
          try {
            if (r === undefined) throw new Error('the poller stopped while draining');
            if (!settled(r)) return;
            this.watchers.delete(watch);
            resolve();
          } catch (e) {
            this.watchers.delete(watch);
            reject(e);
          }
        };
        this.watchers.add(watch);
      });
    }
    while (!settled(await this.pollRound())) await this.poller.sleep(this.options.idleDelayMs?.[0] ?? 50);
  }

  /** One pass over every shard that may be read now. */
  pollRound(): Promise<RoundResult> {
    return this.poller.round();
  }
}
