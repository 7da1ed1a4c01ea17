import type { StoredEvent } from '../../application/ports/event-store.port.js';
import type { DataKey } from '../../application/ports/keys.port.js';
import type { Customer360Projector, ViewDocs } from '../../application/projection/customer360.projector.js';
import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { SqliteCheckpoints } from './sqlite.checkpoints.js';
import { fromPosition, toPosition, type GlobalEntry, type SqliteEventStore } from './sqlite.event-store.js';

// Follows the global log of the SQLite store like a subscription to $all: every tenant's events
// after the checkpoint, a page at a time, handed per tenant to the projector, then the checkpoint
// moves. Delivery is at least once (the projector skips versions it has applied).
//
// As the DynamoDB Streams projector, two kinds of trouble, told apart on purpose:
// - transient (the key store, SQLite busy or I/O, a failing afterProject hook): the checkpoint
//   stops just before the first such event and catchUp rejects; the next run delivers it again;
// - deterministic (a row whose JSON does not parse, an event that does not decode or that the
//   projector cannot fold): retrying would block the log forever, so it is reported through
//   onRejected and the follower goes on.

export type RejectedEntry = {
  readonly position: string;
  readonly tenant: string;
  readonly streamId: string;
  readonly version: number;
  readonly reason: { readonly code: 'UNREADABLE_EVENT' | 'UNDECODABLE_EVENT' | 'PROJECTION_FAILED'; readonly message: string };
};

export type SqliteLogFollowerOptions = {
  /** the checkpoint's name; default 'customer360' */
  readonly name?: string | undefined;
  readonly pageSize?: number | undefined;
  readonly onRejected?: ((rejected: readonly RejectedEntry[]) => void) | undefined;
  /** after the views (the core's afterProject: identity feed, engagement); a failure delivers again */
  readonly afterProject?: ((tenant: string, events: readonly RecordedEvent[]) => Promise<void>) | undefined;
  /** errors of polling runs (start); catchUp rejects with them instead */
  readonly onError?: ((e: unknown) => void) | undefined;
  readonly isTransient?: ((e: unknown) => boolean) | undefined;
  /**
   * skip events this process committed through the same store: its write path projected them
   * inline (a failed inline projection is repaired as on every store: by the stream's next event
   * re-reading the gap, or a rebuild). Another process's writes, and what a crashed process left,
   * are always projected.
   */
  readonly skipLocalCommits?: boolean | undefined;
  /**
   * With skipLocalCommits: resolves once every commit this process had made when it was called has
   * run its after-commit step (the core's `settled`). Only those are passed: one still projecting
   * inline is not, so a crash never leaves a commit that neither the inline step nor the follower
   * projected. Without it, every commit of this process is taken as projected at once.
   */
  readonly localSettled?: (() => Promise<void>) | undefined;
  /** how long a run waits for localSettled; past it, none of this process's commits is passed in that run (default 5 s) */
  readonly settleWaitMs?: number | undefined;
  /**
   * false: a follower of the hooks alone (its own checkpoint, the views left to another follower):
   * it decodes events and hands them to afterProject without applying them to the views
   */
  readonly views?: boolean | undefined;
  /** only events of these types are decoded and handed on (a hooks-only follower: the ones its hooks read); the rest are passed over */
  readonly types?: ReadonlySet<string> | undefined;
  /** never past this position (a hooks-only follower: the views follower's checkpoint, so it reads projected views) */
  readonly upTo?: (() => number) | undefined;
  /** polling (start) runs a catchUp only when this answers true; catchUp itself always runs */
  readonly ready?: (() => boolean) | undefined;
  /** this process's commits are forgotten only once this position (another follower skipping them too) has passed them */
  readonly othersAt?: (() => number) | undefined;
};

type Ready = { readonly entry: GlobalEntry; readonly event: RecordedEvent };

// SQLite's busy, locked, nomem, ioerr, full, cantopen: the file's trouble, not the event's
const TRANSIENT_SQLITE = new Set([5, 6, 7, 10, 13, 14]);
export const isTransientSqlite = (e: unknown): boolean => {
  const x = e as { code?: unknown; errcode?: unknown } | null;
  return x?.code === 'ERR_SQLITE_ERROR' && typeof x.errcode === 'number' && TRANSIENT_SQLITE.has(x.errcode & 0xff);
};
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const SETTLE_WAIT_MS = 5_000;
/** true when `p` settled within `ms` */
const settledWithin = (p: Promise<void>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)).unref());
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer));
};

export class SqliteLogFollower {
  private readonly name: string;
  private readonly pageSize: number;
  private readonly isTransient: (e: unknown) => boolean;
  private tail: Promise<unknown> = Promise.resolve();
  private polling = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly checkpoints: SqliteCheckpoints,
    private readonly projector: Customer360Projector,
    private readonly docs: ViewDocs,
    private readonly options: SqliteLogFollowerOptions = {},
  ) {
    this.name = options.name ?? 'customer360';
    this.pageSize = Math.max(1, options.pageSize ?? 500);
    this.isTransient = options.isTransient ?? isTransientSqlite;
  }

  /** Projects everything up to the end of the log; runs one at a time, never overlapping. */
  catchUp(): Promise<{ readonly projected: number }> {
    const run = this.tail.then(() => this.run());
    this.tail = run.catch(() => {});
    return run;
  }

  /** Polls: a catchUp, then the next one intervalMs after it ends. */
  start(intervalMs = 1_000): void {
    if (this.polling) return;
    this.polling = true;
    const tick = (): void => {
      (this.options.ready && !this.options.ready() ? Promise.resolve() : this.catchUp())
        .catch((e: unknown) => (this.options.onError ?? ((x: unknown) => console.error('log follower:', x)))(e))
        .finally(() => {
          if (this.polling) (this.timer = setTimeout(tick, intervalMs)).unref();
        });
    };
    tick();
  }

  /** Stops polling; resolves once a run in progress has ended. */
  async stop(): Promise<void> {
    this.polling = false;
    clearTimeout(this.timer);
    await this.tail;
  }

  /** Whether the checkpoint (this follower's, or another process's under the same name) has reached the end of the log. */
  caughtUp(): boolean {
    return this.store.readGlobal(this.position(), 1).length === 0;
  }

  /** The checkpoint as a number (0: nothing projected yet). */
  position(): number {
    const saved = this.checkpoints.get(this.name);
    return saved === undefined ? 0 : fromPosition(saved);
  }

  private async run(): Promise<{ readonly projected: number }> {
    let projected = 0;
    for (;;) {
      // this process's commits up to `settled` have run their after-commit step (projected inline)
      const waits = this.options.skipLocalCommits === true && this.options.localSettled !== undefined;
      // a step that hangs (a notifier that never answers) holds back none of the other processes'
      // commits before this process's first one: past settleWaitMs, none of its own is passed
      const before = this.store.lastCommittedHere(); // taken first: later commits are not waited for
      const settled = !waits
        ? Number.POSITIVE_INFINITY
        : (await settledWithin(this.options.localSettled!(), this.options.settleWaitMs ?? SETTLE_WAIT_MS))
          ? before
          : 0;
      let after = this.position();
      const upTo = this.options.upTo?.() ?? Number.POSITIVE_INFINITY;
      if (this.options.skipLocalCommits) {
        // this process's own commits right after the checkpoint: passed without reading them
        const own = Math.min(this.store.committedHereThrough(after), upTo, settled);
        if (own > after) {
          this.checkpoints.save(this.name, toPosition(own));
          this.store.forgetCommittedUpTo(Math.min(own, this.options.othersAt?.() ?? own));
          after = own;
        }
      }
      const read = upTo <= after ? [] : this.store.readGlobal(after, this.pageSize);
      // never past a commit of this process still in its after-commit step
      const stop = read.findIndex((e) => e.position > upTo || (e.position > settled && this.store.committedHere(e.position)));
      const page = stop < 0 ? read : read.slice(0, stop);
      if (page.length === 0) return { projected };
      const { count, failedAt, error } = await this.project(page);
      projected += count;
      const reached = failedAt === undefined ? page.at(-1)!.position : failedAt - 1;
      if (reached > after) {
        this.checkpoints.save(this.name, toPosition(reached));
        this.store.forgetCommittedUpTo(Math.min(reached, this.options.othersAt?.() ?? reached));
      }
      if (failedAt !== undefined) throw error;
      if (read.length < this.pageSize || page.length < read.length) return { projected };
    }
  }

  private async project(page: readonly GlobalEntry[]): Promise<{ count: number; failedAt?: number; error?: unknown }> {
    const rejected: RejectedEntry[] = [];
    let failedAt: number | undefined;
    let error: unknown;
    const fail = (entry: GlobalEntry, e: unknown) => {
      if (failedAt === undefined || entry.position < failedAt) [failedAt, error] = [entry.position, e];
    };
    const reject = (entry: GlobalEntry, code: RejectedEntry['reason']['code'], e: unknown) =>
      rejected.push({
        position: toPosition(entry.position),
        tenant: entry.tenant,
        streamId: entry.streamId,
        version: entry.version,
        reason: { code, message: message(e) },
      });

    const byTenant = new Map<string, GlobalEntry[]>();
    for (const entry of page) {
      if (this.options.skipLocalCommits && this.store.committedHere(entry.position)) continue;
      if (entry.event && this.options.types && !this.options.types.has(entry.event.type)) continue;
      if (!entry.event) reject(entry, 'UNREADABLE_EVENT', entry.error);
      else if (byTenant.has(entry.tenant)) byTenant.get(entry.tenant)!.push(entry);
      else byTenant.set(entry.tenant, [entry]);
    }
    let count = 0;
    for (const [tenant, entries] of byTenant) {
      // per page and tenant, never kept longer: an erased customer's key must stay gone
      const keys = new Map<string, DataKey | null>();
      const ready: Ready[] = [];
      for (const entry of entries) {
        const stored: StoredEvent = entry.event!;
        try {
          // fetched first so that a key store outage is retried, not mistaken for a bad event
          if (stored.pii !== undefined) await this.projector.keyOf(tenant, stored.streamId, keys);
        } catch (e) {
          fail(entry, e);
          break; // the rest of this tenant comes again with it
        }
        try {
          ready.push({ entry, event: (await this.projector.decodeAll(tenant, [stored], keys))[0]! });
        } catch (e) {
          if (!this.isTransient(e)) reject(entry, 'UNDECODABLE_EVENT', e);
          else {
            fail(entry, e);
            break;
          }
        }
      }
      const applied = this.options.views === false ? ready : await this.apply(tenant, ready, keys, fail, (entry, e) => reject(entry, 'PROJECTION_FAILED', e));
      count += applied.length;
      if (this.options.afterProject && applied.length > 0) {
        try {
          await this.options.afterProject(
            tenant,
            applied.map((r) => r.event),
          );
        } catch (e) {
          fail(applied[0]!.entry, e);
        }
      }
    }
    if (rejected.length > 0) this.options.onRejected?.(rejected.sort((a, b) => (a.position < b.position ? -1 : 1)));
    return failedAt === undefined ? { count } : { count, failedAt, error };
  }

  /** The tenant's events in one go; if that fails, one at a time to find who is at fault. */
  private async apply(
    tenant: string,
    ready: readonly Ready[],
    keys: Map<string, DataKey | null>,
    fail: (entry: GlobalEntry, e: unknown) => void,
    reject: (entry: GlobalEntry, e: unknown) => void,
  ): Promise<Ready[]> {
    if (ready.length === 0) return [];
    try {
      await this.projector.apply(
        tenant,
        ready.map((r) => r.event),
        this.docs,
        keys,
      );
      return [...ready];
    } catch {
      // fall through: everything is idempotent, so re-applying what did land is harmless
    }
    const applied: Ready[] = [];
    for (const r of ready) {
      try {
        await this.projector.apply(tenant, [r.event], this.docs, keys);
        applied.push(r);
      } catch (e) {
        if (!this.isTransient(e)) reject(r.entry, e);
        else {
          fail(r.entry, e);
          break;
        }
      }
    }
    return applied;
  }
}
