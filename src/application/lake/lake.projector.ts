import { decodeReadable } from '../event-codec.js';
import { NotAPosition, type EventStore } from '../ports/event-store.port.js';
import { emptyLakeBatch, type LakeWriter } from '../ports/lake.port.js';
import { addEventRows } from './lake.rows.js';

// Follows each tenant's log from the lake's own checkpoint, a page at a time: the rows of a page
// are written, then the checkpoint moves. Delivery is at least once (the writer skips rows it
// holds). A rebuild resets the tenant's tables and reads the log from the start. With flushEvery
// the rows are flushed (and the checkpoint moved) every so many events, so a long catch-up holds
// a bounded buffer and can stop between flushes (`stop`) to resume from there.
// With `log` (what store it reads: its kind and place) the lake records which log its checkpoint
// is a position of: that name and the id of the tenant's first event (another store, or the same
// place made anew, has another). A checkpoint of another log is no position of this one (the same
// data dir moved from SQLite to DynamoDB, `c360 migrate`): the lake is rebuilt from this store,
// said once through onRebuild, never left to fail or skip events at each catch-up.
// The log is read `settled`: a store whose positions can become visible out of order (DynamoDB:
// stamped before they are written) hands out only what no commit still on its way can precede,
// so the checkpoint never passes an event that appears later.

export type LakeProjectorOptions = {
  readonly pageSize?: number | undefined;
  /** flush (and move the checkpoint) after this many events, not only at the end: bounds what is buffered (default: at the end) */
  readonly flushEvery?: number | undefined;
  /** the store's kind and place (no secret: it is saved beside the lake) */
  readonly log?: string | undefined;
  /** told why, when a checkpoint of another log makes the projector rebuild the tenant's lake */
  readonly onRebuild?: ((tenant: string, why: string) => void) | undefined;
};

/** asked after each flush: true stops the catch-up there (a Lambda running out of time); the next one resumes from the checkpoint */
export type CatchUpOptions = { readonly stop?: (() => boolean) | undefined };

export class LakeProjector {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pageSize: number;
  private readonly flushEvery: number;
  /** tenants whose lake follows this store's log (checked once per projector, as the store is) */
  private readonly following = new Set<string>();

  constructor(
    private readonly store: EventStore,
    private readonly writer: LakeWriter,
    private readonly options: LakeProjectorOptions = {},
  ) {
    this.pageSize = Math.max(1, options.pageSize ?? 5_000);
    this.flushEvery = Math.max(1, options.flushEvery ?? Number.POSITIVE_INFINITY);
  }

  /** Projects the tenant's log up to its end; runs one at a time. */
  catchUp(tenant: string, options: CatchUpOptions = {}): Promise<{ readonly events: number; readonly caughtUp: boolean }> {
    const run = this.tail.then(() => this.run(tenant, options));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Writes the tenant's lake again from the whole log. */
  rebuild(tenant: string, options: CatchUpOptions = {}): Promise<{ readonly events: number; readonly caughtUp: boolean }> {
    const run = this.tail.then(async () => {
      await this.writer.reset(tenant);
      this.following.delete(tenant);
      return this.run(tenant, options);
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * Whether the store takes the checkpoint as a position of its own (a lake saved before its log
   * was recorded). Only the store's NotAPosition says no: any other failure (the store out of reach,
   * a deadline) is thrown, never taken for another log, whose answer is to wipe the lake.
   */
  private async accepts(tenant: string, after: string): Promise<boolean> {
    try {
      await this.store.readAll(tenant, { after, limit: 1 });
      return true;
    } catch (e) {
      if (e instanceof NotAPosition) return false;
      throw e;
    }
  }

  /** Makes sure the tenant's lake follows this store's log, rebuilding it when it followed another. */
  private async followThisLog(tenant: string): Promise<void> {
    const { log } = this.options;
    if (log === undefined || !this.writer.follows || !this.writer.setFollows || this.following.has(tenant)) return;
    const first = (await this.store.readAll(tenant, { limit: 1 })).events[0];
    const id = `${log}#${first?.eventId ?? ''}`;
    const saved = await this.writer.follows(tenant);
    if (saved !== id) {
      const checkpoint = await this.writer.checkpoint(tenant);
      // a lake that holds nothing yet, or saved before the log was recorded with a checkpoint this
      // store takes, just records it; any other checkpoint is another log's
      const other =
        checkpoint !== undefined && (saved !== undefined || !(await this.accepts(tenant, checkpoint)))
          ? saved === undefined
            ? `its checkpoint ${checkpoint} is not a position of this store (${log})`
            : `it followed ${saved}, this store is ${id}`
          : undefined;
      if (other) {
        this.options.onRebuild?.(tenant, `the lake is rebuilt from this store: ${other}`);
        await this.writer.reset(tenant);
      }
      // an empty log: its first event is recorded when there is one (the lake holds nothing before)
      if (first) await this.writer.setFollows(tenant, id);
    }
    if (first) this.following.add(tenant);
  }

  private async run(tenant: string, options: CatchUpOptions = {}): Promise<{ readonly events: number; readonly caughtUp: boolean }> {
    await this.followThisLog(tenant);
    let after = await this.writer.checkpoint(tenant);
    let events = 0;
    let buffered = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after, limit: this.pageSize, settled: true });
      if (page.events.length === 0) break;
      const batch = emptyLakeBatch();
      for (const s of page.events) addEventRows(batch, decodeReadable(s));
      const last = page.events.at(-1)?.position ?? page.next;
      await this.writer.write(tenant, batch, last);
      events += page.events.length;
      buffered += page.events.length;
      if (page.next === undefined) break;
      after = page.next;
      if (buffered >= this.flushEvery) {
        await this.writer.flush(tenant);
        buffered = 0;
        if (options.stop?.()) return { events, caughtUp: false };
      }
    }
    await this.writer.flush(tenant);
    return { events, caughtUp: true };
  }
}
