import { decodeReadable } from '../event-codec.js';
import type { EventStore } from '../ports/event-store.port.js';
import { emptyLakeBatch, type LakeWriter } from '../ports/lake.port.js';
import { addEventRows } from './lake.rows.js';

// Follows each tenant's log from the lake's own checkpoint, a page at a time: the rows of a page
// are written, then the checkpoint moves. Delivery is at least once (the writer skips rows it
// holds). A rebuild resets the tenant's tables and reads the log from the start.

export type LakeProjectorOptions = { readonly pageSize?: number | undefined };

export class LakeProjector {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pageSize: number;

  constructor(
    private readonly store: EventStore,
    private readonly writer: LakeWriter,
    options: LakeProjectorOptions = {},
  ) {
    this.pageSize = Math.max(1, options.pageSize ?? 5_000);
  }

  /** Projects the tenant's log up to its end; runs one at a time. */
  catchUp(tenant: string): Promise<{ readonly events: number }> {
    const run = this.tail.then(() => this.run(tenant));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Writes the tenant's lake again from the whole log. */
  rebuild(tenant: string): Promise<{ readonly events: number }> {
    const run = this.tail.then(async () => {
      await this.writer.reset(tenant);
      return this.run(tenant);
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private async run(tenant: string): Promise<{ readonly events: number }> {
    let after = await this.writer.checkpoint(tenant);
    let events = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after, limit: this.pageSize });
      if (page.events.length === 0) break;
      const batch = emptyLakeBatch();
      for (const s of page.events) addEventRows(batch, decodeReadable(s));
      const last = page.events.at(-1)?.position ?? page.next;
      await this.writer.write(tenant, batch, last);
      events += page.events.length;
      if (page.next === undefined) break;
      after = page.next;
    }
    await this.writer.flush(tenant);
    return { events };
  }
}
