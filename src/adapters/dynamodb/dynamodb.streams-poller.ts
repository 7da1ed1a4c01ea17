import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import type { Checkpoints } from './dynamodb.stream-checkpoints.js';
import type { DynamoDbStreamRecord, StreamBatchResult } from './dynamodb.streams-projector.js';

// Drives the streams projector core outside Lambda: what the Lambda event source mapping does,
// on one process. A parent shard is read to its end before its children (per-item order depends on
// it), progress is checkpointed per shard after each batch, and a failed batch is read again from
// its checkpoint after a backoff, so every record is projected at least once.

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
  readonly onBatch?: (shardId: string, result: StreamBatchResult) => void;
  readonly onError?: (error: unknown) => void;
};

export type RoundResult = { readonly records: number; readonly pending: boolean };

type ShardState = { readonly id: string; readonly parent: string | undefined; loaded: boolean; checkpoint?: string | undefined; ended: boolean; iterator?: string | undefined; failures: number; retryAt: number };

class BatchFailed extends Error {
  constructor(readonly shardId: string, readonly errors: readonly unknown[]) {
    super(`shard ${shardId}: a batch failed and will be read again from its checkpoint (${errors.map(String).join('; ')})`);
  }
}

const backoff = ([min, max]: readonly [number, number], n: number): number => Math.min(max, min * 2 ** Math.max(0, n - 1));

export class DynamoDbStreamsPoller {
  private readonly shards = new Map<string, ShardState>();
  private refreshAt = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly watchers = new Set<(r: RoundResult | undefined) => void>();

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly handler: StreamBatchHandler,
    private readonly options: StreamsPollerOptions,
  ) {}

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Finishes the batch in hand (and its checkpoint), then stops; no timer is left behind. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    this.stopping = false;
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
    if (this.loop) {
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
    while (!settled(await this.pollRound())) await this.sleep(this.options.idleDelayMs?.[0] ?? 50);
  }

  /** One pass over every shard that may be read now. */
  async pollRound(): Promise<RoundResult> {
    if (Date.now() >= this.refreshAt) await this.refreshShards();
    let records = 0;
    let pending = false;
    for (const s of this.shards.values()) {
      if (this.stopping) break;
      if (!(await this.readable(s))) continue;
      if (s.retryAt <= Date.now()) records += await this.pollShard(s);
      pending ||= s.failures > 0;
    }
    return { records, pending };
  }

  private async run(): Promise<void> {
    const [min, max] = this.options.idleDelayMs ?? [50, 1_000];
    let idle = min;
    while (!this.stopping) {
      let round: RoundResult = { records: 0, pending: true };
      try {
        round = await this.pollRound();
      } catch (e) {
        this.options.onError?.(e);
      }
      for (const w of this.watchers) w(round);
      idle = round.records > 0 ? min : Math.min(max, idle * 2);
      if (round.records === 0) await this.sleep(idle);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async refreshShards(): Promise<void> {
    let start: string | undefined;
    do {
      const out = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: start }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        if (shard.ShardId && !this.shards.has(shard.ShardId)) {
          this.shards.set(shard.ShardId, { id: shard.ShardId, parent: shard.ParentShardId, loaded: false, ended: false, failures: 0, retryAt: 0 });
        }
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    this.refreshAt = Date.now() + (this.options.shardRefreshMs ?? 10_000);
  }

  /** Not ended, and its parent (if still listed) read to its end. */
  private async readable(s: ShardState): Promise<boolean> {
    await this.load(s);
    if (s.ended) return false;
    const parent = s.parent === undefined ? undefined : this.shards.get(s.parent);
    // a parent no longer listed was trimmed: nothing of it is left to read
    if (parent === undefined) return true;
    await this.load(parent);
    return parent.ended;
  }

  private async load(s: ShardState): Promise<void> {
    if (s.loaded) return;
    const saved = await this.options.checkpoints.get(this.options.streamArn, s.id);
    [s.checkpoint, s.ended, s.loaded] = [saved?.sequenceNumber, saved?.ended ?? false, true];
  }

  private async pollShard(s: ShardState): Promise<number> {
    try {
      s.iterator ??= await this.iterator(s);
      if (s.iterator === undefined) {
        await this.ended(s);
        return 0;
      }
      const out = await this.streams.send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: this.options.batchSize ?? 500 }));
      const records = out.Records ?? [];
      if (records.length > 0) {
        const result = await this.handler.handle(records);
        this.options.onBatch?.(s.id, result);
        const failed = result.batchItemFailures[0]?.itemIdentifier;
        if (failed !== undefined) {
          // keep what succeeded before the first failure; the rest is read again
          const at = records.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
          if (at > 0) await this.checkpoint(s, records[at - 1]!.dynamodb?.SequenceNumber);
          throw new BatchFailed(s.id, result.errors);
        }
        await this.checkpoint(s, records.at(-1)!.dynamodb?.SequenceNumber);
      }
      s.iterator = out.NextShardIterator;
      if (s.iterator === undefined) await this.ended(s);
      s.failures = 0;
      return records.length;
    } catch (e) {
      s.iterator = undefined; // the next read starts again from the checkpoint
      if (e instanceof ExpiredIteratorException) return 0;
      if (e instanceof TrimmedDataAccessException) {
        // from a checkpoint: it is older than the stream's retention, records were lost and a
        // rebuild is due. From the trim horizon (DynamoDB Local answers so for an iterator taken
        // on an empty shard) nothing was skipped: the next read takes a fresh iterator.
        if (s.checkpoint !== undefined) this.options.onError?.(new Error(`shard ${s.id}: records past the checkpoint were trimmed; rebuild the projections`, { cause: e }));
        s.checkpoint = undefined;
        return 0;
      }
      s.failures++;
      s.retryAt = Date.now() + backoff(this.options.retryDelayMs ?? [100, 5_000], s.failures);
      this.options.onError?.(e);
      return 0;
    }
  }

  private async iterator(s: ShardState): Promise<string | undefined> {
    const out = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: s.id,
        ...(s.checkpoint === undefined ? { ShardIteratorType: 'TRIM_HORIZON' } : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: s.checkpoint }),
      }),
    );
    return out.ShardIterator;
  }

  private async checkpoint(s: ShardState, sequenceNumber: string | undefined): Promise<void> {
    if (sequenceNumber === undefined) return;
    await this.options.checkpoints.save(this.options.streamArn, s.id, { sequenceNumber, ended: false });
    s.checkpoint = sequenceNumber;
  }

  private async ended(s: ShardState): Promise<void> {
    await this.options.checkpoints.save(this.options.streamArn, s.id, { sequenceNumber: s.checkpoint, ended: true });
    s.ended = true;
    this.refreshAt = 0; // its children are listed now
  }
}
