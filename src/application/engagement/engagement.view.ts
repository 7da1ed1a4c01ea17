import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CustomerState } from '../../domain/customer/customer.state.js';
import { evolveView, foldCluster, type Customer360 } from '../../domain/projection/customer360.js';
import { decodeReadable } from '../event-codec.js';
import type { EventStore } from '../ports/event-store.port.js';
import type { ReadModelStore } from '../ports/read-model.port.js';

// The cluster's 360 view exactly as of the survivor state a decision is committed against: the
// projected doc, plus what was written beyond it (Streams projection lags, a doc may be missing),
// taken from the events in hand where they cover it (a decision taken before its trigger is
// projected, or before it is even committed: then the state includes the write's own events),
// and from the log for the rest. The decision commits with that state's version as its expected
// version, so consent, caps and suppression are checked against everything committed before it,
// and nothing after.
// Only readable fields are needed (consents, interests, places, channels, decisions): no keys.

const STRUCTURAL: ReadonlySet<string> = new Set(['CustomerMerged', 'CustomerMergedInto', 'CustomerUnmerged', 'CustomerRestored', 'CustomerErased']);

export const currentView = async (
  store: EventStore,
  views: ReadModelStore,
  tenant: string,
  state: CustomerState,
  /**
   * events in hand, not projected yet: committed, or the write's own about to commit (the newest
   * of their streams); the log is read only for what they do not cover
   */
  known: readonly RecordedEvent[] = [],
): Promise<Customer360> => {
  const doc = await views.get(tenant, state.id);
  if (doc?.kind === 'view' && state.members.every((m) => doc.applied[m] !== undefined)) {
    const applied = doc.applied[state.id] ?? 0;
    if (applied >= state.version) return doc.view;
    const missing = await between(store, tenant, state.id, applied, state.version, known);
    if (!missing.some((m) => STRUCTURAL.has(m.event.type))) return missing.reduce(evolveView, doc.view);
  }
  // no doc yet: a new customer's whole stream is often in hand (its first call)
  const events: RecordedEvent[] = [];
  for (const id of [state.id, ...state.members])
    events.push(...(await between(store, tenant, id, 0, id === state.id ? state.version : Number.POSITIVE_INFINITY, known)));
  return foldCluster(state.id, state.members, events);
};

/**
 * The stream's events after version `after` up to `upTo`: from the events in hand alone when they
 * hold every one of them; else the log's, followed by those in hand beyond the log's last (the
 * write's own, not committed yet).
 */
const between = async (
  store: EventStore,
  tenant: string,
  streamId: string,
  after: number,
  upTo: number,
  known: readonly RecordedEvent[],
): Promise<RecordedEvent[]> => {
  const held = known.filter((r) => r.streamId === streamId && r.version > after && r.version <= upTo).sort((a, b) => a.version - b.version);
  if (held.length === upTo - after && held.every((r, i) => r.version === after + 1 + i)) return held;
  const logged = (await store.readStream(tenant, streamId, after)).filter((s) => s.version <= upTo).map((s) => decodeReadable(s));
  const last = logged.at(-1)?.version ?? after;
  return [...logged, ...held.filter((r) => r.version > last)];
};
