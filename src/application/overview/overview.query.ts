import type { StoredEvent } from '../ports/event-store.port.js';
import type { CorePorts } from '../deps.js';

// The operator's overview: activity per day, the ingest rate of the last hour and how far the
// views are behind the log. Read from the log's non-personal fields only (type, times, stream),
// a bounded number of events, so it costs the same however old the tenant is.

export type DayCounts = { readonly day: string; customers: number; events: number; merges: number; unmerges: number };

export type Overview = {
  /** events read; when `complete` is false the log holds more and the counts cover only the ones read */
  readonly scanned: number;
  readonly complete: boolean;
  /** which end of the log was read: the newest events (a store that reads from the end), else the first ones */
  readonly from: 'newest' | 'first';
  readonly days: readonly DayCounts[];
  /** events recorded per minute over the last hour, oldest minute first */
  readonly ingestPerMinute: readonly { readonly minute: string; readonly events: number }[];
  readonly lag: {
    /** the most recently written customers that were checked */
    readonly checked: number;
    /** of those, how many views have not folded their latest event yet */
    readonly behind: number;
    /** age of the oldest event not yet in its view, milliseconds */
    readonly oldestMs?: number | undefined;
  };
};

const DAY = 86_400_000;
const PAGE = 1_000;

export type OverviewOptions = { readonly maxEvents?: number | undefined; readonly days?: number | undefined; readonly lagSample?: number | undefined };

export const overview = async (ports: Pick<CorePorts, 'store' | 'readModels' | 'clock'>, tenant: string, options: OverviewOptions = {}): Promise<Overview> => {
  const maxEvents = options.maxEvents ?? 20_000;
  const now = ports.clock.now();
  const firstDay = Math.floor(now / DAY) * DAY - ((options.days ?? 14) - 1) * DAY;
  const days = new Map<number, DayCounts>();
  for (let d = firstDay; d <= now; d += DAY) days.set(d, { day: new Date(d).toISOString().slice(0, 10), customers: 0, events: 0, merges: 0, unmerges: 0 });
  const hourAgo = Math.floor(now / 60_000) * 60_000 - 59 * 60_000;
  const minutes = new Array<number>(60).fill(0);
  const latest = new Map<string, { readonly version: number; readonly event: StoredEvent }>();
  let scanned = 0;
  let complete = false;
  const count = (e: StoredEvent) => {
    scanned++;
    const day = days.get(Math.floor(e.recordedAt / DAY) * DAY);
    if (day) {
      day.events++;
      if (e.type === 'CustomerRegistered') day.customers++;
      else if (e.type === 'CustomerMerged') day.merges++;
      else if (e.type === 'CustomerUnmerged') day.unmerges++;
    }
    if (e.recordedAt >= hourAgo) minutes[Math.min(59, Math.floor((e.recordedAt - hourAgo) / 60_000))]!++;
    const seen = latest.get(e.streamId);
    if (!seen || e.version > seen.version) {
      latest.delete(e.streamId);
      latest.set(e.streamId, { version: e.version, event: e });
    }
  };
  // the newest events where the store reads its log from the end: the recent days are the point
  const newest = ports.store.readLast ? await ports.store.readLast(tenant, maxEvents) : undefined;
  if (newest) {
    for (const e of newest) count(e);
    complete = newest.length < maxEvents;
  } else {
    let after: string | undefined;
    while (scanned < maxEvents) {
      const page = await ports.store.readAll(tenant, { after, limit: Math.min(PAGE, maxEvents - scanned) });
      for (const e of page.events) count(e);
      after = page.next;
      if (!page.next || page.events.length === 0) {
        complete = true;
        break;
      }
    }
  }
  return {
    scanned,
    complete,
    from: newest ? 'newest' : 'first',
    days: [...days.values()],
    ingestPerMinute: minutes.map((events, i) => ({ minute: new Date(hourAgo + i * 60_000).toISOString().slice(11, 16), events })),
    lag: await lagOf(ports, tenant, [...latest.entries()].slice(-(options.lagSample ?? 20)), now),
  };
};

/** How many of the most recently written streams their views have not caught up with. */
const lagOf = async (
  ports: Pick<CorePorts, 'store' | 'readModels'>,
  tenant: string,
  recent: readonly (readonly [string, { readonly version: number; readonly event: StoredEvent }])[],
  now: number,
): Promise<Overview['lag']> => {
  let checked = 0;
  let behind = 0;
  let oldest: number | undefined;
  for (const [streamId, last] of recent) {
    if (last.event.type === 'CustomerErased') continue;
    checked++;
    const doc = await ports.readModels.get(tenant, streamId);
    const applied = doc?.applied[streamId] ?? 0;
    if (applied >= last.version) continue;
    behind++;
    const missing = (await ports.store.readStream(tenant, streamId, applied))[0];
    const age = now - (missing?.recordedAt ?? last.event.recordedAt);
    oldest = oldest === undefined ? age : Math.max(oldest, age);
  }
  return { checked, behind, oldestMs: oldest };
};
