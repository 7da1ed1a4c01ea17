import { START, type EventStoreDBClient, type Position, type ResolvedEvent } from '@eventstore/db-client';
import { NotAPosition, type ReadAllPage, type StoredEvent } from '../../application/ports/event-store.port.js';
import { type Deadline, drain } from './eventstoredb.deadline.js';
import type { StateReader } from './eventstoredb.state.js';
import { fromResolved, streamNames } from './eventstoredb.streams.js';

// The tenant's log for rebuilds: $all in position order, filtered on the client to the tenant's
// customer streams (no server-side filter is assumed). Undecided commits are settled first, so a
// page never skips a commit that completes later.

const BATCH = 500;
const DIGITS = 20;

/** commit then prepare position, fixed width, so string order is $all order */
const encode = (p: Position): string => p.commit.toString().padStart(DIGITS, '0') + p.prepare.toString().padStart(DIGITS, '0');
const decode = (s: string): Position => {
  if (!/^\d{40}$/.test(s)) throw new NotAPosition(s);
  return { commit: BigInt(s.slice(0, DIGITS)), prepare: BigInt(s.slice(DIGITS)) };
};
const isAfter = (a: Position, b: Position): boolean => a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);

/** One read of at most BATCH events, drained within its deadline. */
const batchFrom = (client: EventStoreDBClient, from: Position | typeof START, d: Deadline): Promise<ResolvedEvent[]> =>
  drain(client, d, () => client.readAll({ fromPosition: from, maxCount: BATCH }));

export const readAllPage = async (
  client: EventStoreDBClient,
  state: StateReader,
  tenant: string,
  options: { readonly after?: string | undefined; readonly limit: number },
  /**
   * A new deadline for each batch of $all and the visibility checks of its events: a page may scan
   * far past the tenant's last event (other tenants' events, claim and idempotency streams), so a
   * silent server fails the batch it waits on, while a long scan that keeps being answered is not
   * cut short (one deadline for the whole page would stop a quiet tenant's lake for good).
   */
  deadline: () => Deadline,
): Promise<ReadAllPage> => {
  if (!(options.limit >= 1)) throw new Error(`readAll limit must be at least 1, got ${options.limit}`);
  const prefix = streamNames(tenant).customerPrefix;
  let seen = options.after === undefined ? undefined : decode(options.after);
  const events: StoredEvent[] = [];
  for (;;) {
    const d = deadline();
    const batch = await batchFrom(client, seen ?? START, d);
    for (const r of batch) {
      const position = r.event?.position;
      // reads from a position include the event at it
      if (!position || (seen && !isAfter(position, seen))) continue;
      seen = position;
      if (!r.event!.streamId.startsWith(prefix)) continue;
      const e = fromResolved(r);
      const stored = e?.data as StoredEvent | undefined;
      if (!e || stored?.tenant !== tenant || !(await state.isVisible(tenant, e, true, d))) continue;
      if (events.length === options.limit) return { events, next: events[events.length - 1]!.position };
      events.push({ ...stored, position: encode(position) });
    }
    if (batch.length < BATCH) return { events };
  }
};
