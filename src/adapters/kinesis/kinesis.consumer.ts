import { ExpiredIteratorException, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type _Record } from '@aws-sdk/client-kinesis';
import type { Checkpoints } from '../dynamodb/dynamodb.stream-checkpoints.js';
import { resolveClient, type KinesisClientSource } from './kinesis.client.js';
import type { KinesisInputRecord } from './kinesis.ingest.js';

// Polls every shard of a Kinesis stream outside Lambda, as the Lambda event source mapping would,
// on one process (no leases, unlike the KCL: one consumer per stream and checkpoint name). After
// a reshard a child is read only once its parents are read to their end, so one key's records stay
// in order; progress is checkpointed per shard after each batch, and a failed batch is read again
// from its first failed record after a backoff, so no record is ever skipped.

export interface KinesisBatchHandler {
  handle(records: readonly KinesisInputRecord[]): Promise<{ readonly failures: readonly string[] }>;
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

export type RoundResult = { readonly records: number; readonly pending: boolean };

type ShardState = { readonly id: string; readonly parents: readonly string[]; loaded: boolean; checkpoint?: string | undefined; ended: boolean; iterator?: string | undefined; behind: boolean; failures: number; retryAt: number };

class BatchFailed extends Error {
  constructor(shardId: string, first: string, count: number) {
    super(`shard ${shardId}: ${count} record(s) failed from ${first}; read again from there after a pause`);
  }
}

const backoff = ([min, max]: readonly [number, number], n: number): number => Math.min(max, min * 2 ** Math.max(0, n - 1));

const toInput = (r: _Record): KinesisInputRecord => ({
  sequenceNumber: r.SequenceNumber!,
  data: r.Data ?? new Uint8Array(),
  partitionKey: r.PartitionKey,
  arrivedAt: r.ApproximateArrivalTimestamp?.getTime(),
});

export class KinesisConsumer {
  private readonly shards = new Map<string, ShardState>();
  private refreshAt = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KinesisClientSource,
    private readonly handler: KinesisBatchHandler,
    private readonly options: KinesisConsumerOptions,
  ) {}

  private get name(): string {
    return this.options.checkpointName ?? this.options.streamName;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Finishes the batches in hand (and their checkpoints), then stops; no timer is left behind. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    this.stopping = false;
  }

  /** One pass over every shard that may be read now: at most one batch per shard. */
  async runOnce(): Promise<RoundResult> {
    if (Date.now() >= this.refreshAt) await this.refreshShards();
    const readable: ShardState[] = [];
    for (const s of this.shards.values()) if ((await this.readable(s)) && s.retryAt <= Date.now()) readable.push(s);
    const counts = await Promise.all(readable.map((s) => this.pollShard(s)));
    const pending = [...this.shards.values()].some((s) => !s.ended && (s.failures > 0 || s.behind));
    return { records: counts.reduce((a, b) => a + b, 0), pending };
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
      if (round.records === 0) await this.sleep(this.options.idleDelayMs?.[0] ?? 20);
    }
    return total;
  }

  private async run(): Promise<void> {
    const [min, max] = this.options.idleDelayMs ?? [100, 1_000];
    let idle = min;
    while (!this.stopping) {
      let round: RoundResult = { records: 0, pending: true };
      try {
        round = await this.runOnce();
      } catch (e) {
        this.options.onError?.(e);
      }
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
    let token: string | undefined;
    do {
      // ListShards takes the stream name or a NextToken, never both
      const out = await resolveClient(this.client).send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.options.streamName }));
      for (const shard of out.Shards ?? []) {
        if (shard.ShardId && !this.shards.has(shard.ShardId)) {
          const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => typeof p === 'string' && p !== '');
          this.shards.set(shard.ShardId, { id: shard.ShardId, parents, loaded: false, ended: false, behind: false, failures: 0, retryAt: 0 });
        }
      }
      token = out.NextToken;
    } while (token);
    this.refreshAt = Date.now() + (this.options.shardRefreshMs ?? 10_000);
  }

  /** Not ended, and every parent still listed (a merge has two) read to its end. */
  private async readable(s: ShardState): Promise<boolean> {
    await this.load(s);
    if (s.ended) return false;
    for (const id of s.parents) {
      const parent = this.shards.get(id);
      // a parent no longer listed has expired: nothing of it is left to read
      if (parent === undefined) continue;
      await this.load(parent);
      if (!parent.ended) return false;
    }
    return true;
  }

  private async load(s: ShardState): Promise<void> {
    if (s.loaded) return;
    const saved = await this.options.checkpoints.get(this.name, s.id);
    [s.checkpoint, s.ended, s.loaded] = [saved?.sequenceNumber, saved?.ended ?? false, true];
  }

  private async pollShard(s: ShardState): Promise<number> {
    try {
      s.iterator ??= await this.iterator(s);
      if (s.iterator === undefined) {
        await this.ended(s);
        return 0;
      }
      const out = await resolveClient(this.client).send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: this.options.batchSize ?? 1_000 }));
      const records = (out.Records ?? []).filter((r) => r.SequenceNumber).map(toInput);
      if (records.length > 0) {
        const { failures } = await this.handler.handle(records);
        this.options.onBatch?.(s.id, records.length, failures);
        const failed = new Set(failures);
        const at = failed.size === 0 ? -1 : records.findIndex((r) => failed.has(r.sequenceNumber));
        if (at >= 0) {
          // keep what succeeded before the first failure; the rest is read again
          if (at > 0) await this.checkpoint(s, records[at - 1]!.sequenceNumber);
          throw new BatchFailed(s.id, records[at]!.sequenceNumber, records.length - at);
        }
        await this.checkpoint(s, records.at(-1)!.sequenceNumber);
      }
      s.iterator = out.NextShardIterator ?? undefined;
      s.behind = records.length === 0 && (out.MillisBehindLatest ?? 0) > 0;
      if (s.iterator === undefined) await this.ended(s);
      s.failures = 0;
      return records.length;
    } catch (e) {
      s.iterator = undefined; // the next read starts again from the checkpoint
      if (e instanceof ExpiredIteratorException) return 0;
      s.failures++;
      s.retryAt = Date.now() + backoff(this.options.retryDelayMs ?? [100, 5_000], s.failures);
      this.options.onError?.(e);
      return 0;
    }
  }

  private async iterator(s: ShardState): Promise<string | undefined> {
    const out = await resolveClient(this.client).send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: s.id,
        ...(s.checkpoint === undefined ? { ShardIteratorType: 'TRIM_HORIZON' } : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: s.checkpoint }),
      }),
    );
    return out.ShardIterator ?? undefined;
  }

  private async checkpoint(s: ShardState, sequenceNumber: string): Promise<void> {
    await this.options.checkpoints.save(this.name, s.id, { sequenceNumber, ended: false });
    s.checkpoint = sequenceNumber;
  }

  private async ended(s: ShardState): Promise<void> {
    await this.options.checkpoints.save(this.name, s.id, { sequenceNumber: s.checkpoint, ended: true });
    s.ended = true;
    this.refreshAt = 0; // its children are listed now
  }
}
