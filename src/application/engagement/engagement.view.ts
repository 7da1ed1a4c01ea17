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
    const missing = await between(store, tenant, state.id, applied, known);
    if (!missing.some((m) => STRUCTURAL.has(m.event.type))) return missing.filter((m) => m.version <= state.version).reduce(evolveView, doc.view);
  }
  const events: RecordedEvent[] = [];
  // no doc yet: a new customer's whole stream is often in hand (its first call)
  for (const id of [state.id, ...state.members]) events.push(...(await between(store, tenant, id, 0, known)));
  return foldCluster(
    state.id,
    state.members,
    events.filter((r) => r.streamId !== state.id || r.version <= state.version),
  );
};

/**
 * The stream's events after version `after`: the run of events in hand that ends with the newest
 * of them, and from the log only what comes before that run (nothing is read when it reaches back
 * to `after`).
 */
const between = async (store: EventStore, tenant: string, streamId: string, after: number, known: readonly RecordedEvent[]): Promise<RecordedEvent[]> => {
  const held = known.filter((r) => r.streamId === streamId && r.version > after).sort((a, b) => a.version - b.version);
  let first = held.length - 1;
  while (first > 0 && held[first - 1]!.version === held[first]!.version - 1) first--;
  const run = first < 0 ? [] : held.slice(first);
  const from = run[0]?.version ?? Number.POSITIVE_INFINITY;
  if (from === after + 1) return run;
  const logged = (await store.readStream(tenant, streamId, after)).filter((s) => s.version < from).map((s) => decodeReadable(s));
  return [...logged, ...run];
};
