import { decodeReadable } from '../event-codec.js';
import type { EventStore } from '../ports/event-store.port.js';
import { emptyLakeBatch, type LakeWriter } from '../ports/lake.port.js';
import { addEventRows } from './lake.rows.js';

// Follows each tenant's log from the lake's own checkpoint, a page at a time: the rows of a page
// are written, then the checkpoint moves. Delivery is at least once (the writer skips rows it
// holds). A rebuild resets the tenant's tables and reads the log from the start. With flushEvery
// the rows are flushed (and the checkpoint moved) every so many events, so a long catch-up holds
// a bounded buffer and can stop between flushes (`stop`) to resume from there.

export type LakeProjectorOptions = {
  readonly pageSize?: number | undefined;
  /** flush (and move the checkpoint) after this many events, not only at the end: bounds what is buffered (default: at the end) */
  readonly flushEvery?: number | undefined;
};

/** asked after each flush: true stops the catch-up there (a Lambda running out of time); the next one resumes from the checkpoint */
export type CatchUpOptions = { readonly stop?: (() => boolean) | undefined };

export class LakeProjector {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pageSize: number;
  private readonly flushEvery: number;

  constructor(
    private readonly store: EventStore,
    private readonly writer: LakeWriter,
    options: LakeProjectorOptions = {},
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
      return this.run(tenant, options);
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private async run(tenant: string, options: CatchUpOptions = {}): Promise<{ readonly events: number; readonly caughtUp: boolean }> {
    let after = await this.writer.checkpoint(tenant);
    let events = 0;
    let buffered = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after, limit: this.pageSize });
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
