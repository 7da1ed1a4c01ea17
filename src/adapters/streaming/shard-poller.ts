import type { Checkpoints } from '../dynamodb/dynamodb.stream-checkpoints.js';

// The shard machinery that Kinesis and DynamoDB Streams share when they are polled outside Lambda,
// as the Lambda event source mapping would, on one process (no leases, unlike the KCL). A child is
// read only once its parents (a Kinesis merge has two) are read to their end, so one key's records
// stay in order; progress is checkpointed per shard after each handled batch, and a failed batch is
// read again from its first failed record after a backoff, so no record is ever skipped. What
// differs between the services comes in through a ShardSource.

export type ShardInfo = { readonly id: string; readonly parents: readonly string[] };

export type ShardRead<R> = {
  readonly records: readonly R[];
  /** undefined once a closed shard is read to its end */
  readonly next: string | undefined;
  /** the shard holds more than this read returned (Kinesis's MillisBehindLatest) */
  readonly behind: boolean;
};

/** The first record of a batch to read again, and the error to report for it. */
export type BatchFailure = { readonly sequenceNumber: string; readonly error: unknown };

export interface ShardSource<R> {
  /** every shard listed now, all pages */
  listShards(): AsyncIterable<ShardInfo>;
  /** an iterator just after `after`, or at the trim horizon without it */
  iterator(shardId: string, after: string | undefined): Promise<string | undefined>;
  getRecords(iterator: string): Promise<ShardRead<R>>;
  sequenceNumber(record: R): string | undefined;
  handle(shardId: string, records: readonly R[]): Promise<BatchFailure | undefined>;
  /** 'expired': take a fresh iterator at once; 'trimmed': the checkpoint is past the retention */
  classify(error: unknown): 'expired' | 'trimmed' | undefined;
  /** after 'trimmed', before the shard is read again from the trim horizon */
  trimmed?(shardId: string, checkpoint: string | undefined, error: unknown): void;
}

export type ShardPollerOptions = {
  readonly checkpoints: Checkpoints;
  /** the checkpoints' stream key */
  readonly checkpointName: string;
  /** pause after a round that found nothing, doubling from the first to the second value */
  readonly idleDelayMs: readonly [number, number];
  /** pause before a failed shard is read again, doubling from the first to the second value */
  readonly retryDelayMs: readonly [number, number];
  /** how often the shard list is read again (a reshard adds shards) */
  readonly shardRefreshMs: number;
  /** all readable shards of a round at once, or one after another (a stop is then seen between them) */
  readonly parallel: boolean;
  /** after each round of the running loop */
  readonly onRound?: ((round: RoundResult) => void) | undefined;
  readonly onError?: ((error: unknown) => void) | undefined;
};

export type RoundResult = { readonly records: number; readonly pending: boolean };

type ShardState = ShardInfo & {
  loaded: boolean;
  checkpoint?: string | undefined;
  ended: boolean;
  iterator?: string | undefined;
  behind: boolean;
  failures: number;
  retryAt: number;
};

const backoff = ([min, max]: readonly [number, number], n: number): number => Math.min(max, min * 2 ** Math.max(0, n - 1));

export class ShardPoller<R> {
  private readonly shards = new Map<string, ShardState>();
  private refreshAt = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: ShardSource<R>,
    private readonly options: ShardPollerOptions,
  ) {}

  get running(): boolean {
    return this.loop !== undefined;
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
  async round(): Promise<RoundResult> {
    if (Date.now() >= this.refreshAt) await this.refreshShards();
    return this.options.parallel ? this.parallelRound() : this.sequentialRound();
  }

  /** A pause that a stop cuts short. */
  sleep(ms: number): Promise<void> {
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

  private async parallelRound(): Promise<RoundResult> {
    const readable: ShardState[] = [];
    for (const s of this.shards.values()) if ((await this.readable(s)) && s.retryAt <= Date.now()) readable.push(s);
    const counts = await Promise.all(readable.map((s) => this.pollShard(s)));
    const pending = [...this.shards.values()].some((s) => !s.ended && (s.failures > 0 || s.behind));
    return { records: counts.reduce((a, b) => a + b, 0), pending };
  }

  private async sequentialRound(): Promise<RoundResult> {
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
    const [min, max] = this.options.idleDelayMs;
    let idle = min;
    while (!this.stopping) {
      let round: RoundResult = { records: 0, pending: true };
      try {
        round = await this.round();
      } catch (e) {
        this.options.onError?.(e);
      }
      this.options.onRound?.(round);
      idle = round.records > 0 ? min : Math.min(max, idle * 2);
      if (round.records === 0) await this.sleep(idle);
    }
  }

  private async refreshShards(): Promise<void> {
    for await (const shard of this.source.listShards()) {
      if (!this.shards.has(shard.id)) this.shards.set(shard.id, { ...shard, loaded: false, ended: false, behind: false, failures: 0, retryAt: 0 });
    }
    this.refreshAt = Date.now() + this.options.shardRefreshMs;
  }

  /** Not ended, and every parent still listed read to its end. */
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
    const saved = await this.options.checkpoints.get(this.options.checkpointName, s.id);
    [s.checkpoint, s.ended, s.loaded] = [saved?.sequenceNumber, saved?.ended ?? false, true];
  }

  private async pollShard(s: ShardState): Promise<number> {
    const { source } = this;
    try {
      s.iterator ??= await source.iterator(s.id, s.checkpoint);
      if (s.iterator === undefined) {
        await this.ended(s);
        return 0;
      }
      const out = await source.getRecords(s.iterator);
      const { records } = out;
      if (records.length > 0) {
        const failed = await source.handle(s.id, records);
        if (failed !== undefined) {
          // keep what succeeded before the first failure; the rest is read again
          const at = records.findIndex((r) => source.sequenceNumber(r) === failed.sequenceNumber);
          if (at > 0) await this.checkpoint(s, source.sequenceNumber(records[at - 1]!));
          throw failed.error;
        }
        await this.checkpoint(s, source.sequenceNumber(records.at(-1)!));
      }
      s.iterator = out.next;
      s.behind = records.length === 0 && out.behind;
      if (s.iterator === undefined) await this.ended(s);
      s.failures = 0;
      return records.length;
    } catch (e) {
      s.iterator = undefined; // the next read starts again from the checkpoint
      const kind = source.classify(e);
      if (kind === 'expired') return 0;
      if (kind === 'trimmed') {
        source.trimmed?.(s.id, s.checkpoint, e);
        s.checkpoint = undefined;
        return 0;
      }
      s.failures++;
      s.retryAt = Date.now() + backoff(this.options.retryDelayMs, s.failures);
      this.options.onError?.(e);
      return 0;
    }
  }

  private async checkpoint(s: ShardState, sequenceNumber: string | undefined): Promise<void> {
    if (sequenceNumber === undefined) return;
    await this.options.checkpoints.save(this.options.checkpointName, s.id, { sequenceNumber, ended: false });
    s.checkpoint = sequenceNumber;
  }

  private async ended(s: ShardState): Promise<void> {
    await this.options.checkpoints.save(this.options.checkpointName, s.id, { sequenceNumber: s.checkpoint, ended: true });
    s.ended = true;
    this.refreshAt = 0; // its children are listed now
  }
}
