import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CustomerState } from '../../domain/customer/customer.state.js';
import { evolveView, foldCluster, type Customer360 } from '../../domain/projection/customer360.js';
import { decodeReadable } from '../event-codec.js';
import type { EventStore } from '../ports/event-store.port.js';
import type { ReadModelStore } from '../ports/read-model.port.js';

// The cluster's 360 view exactly as of the survivor state a decision is committed against: the
// projected doc, plus what was committed beyond it (Streams projection lags, a doc may be
// missing), taken from the committed events in hand when they cover it (an inline decision comes
// before its trigger is projected), else from the log. The decision commits with that state's
// version as its expected version, so consent, caps and suppression are checked against
// everything committed before it, and nothing after.
// Only readable fields are needed (consents, interests, places, channels, decisions): no keys.

const STRUCTURAL: ReadonlySet<string> = new Set(['CustomerMerged', 'CustomerMergedInto', 'CustomerUnmerged', 'CustomerRestored', 'CustomerErased']);

export const currentView = async (
  store: EventStore,
  views: ReadModelStore,
  tenant: string,
  state: CustomerState,
  /** committed events in hand (not projected yet): the log is read only for what they do not cover */
  known: readonly RecordedEvent[] = [],
): Promise<Customer360> => {
  const doc = await views.get(tenant, state.id);
  if (doc?.kind === 'view' && state.members.every((m) => doc.applied[m] !== undefined)) {
    const applied = doc.applied[state.id] ?? 0;
    if (applied >= state.version) return doc.view;
    const missing = inHand(known, state.id, applied, state.version) ?? (await store.readStream(tenant, state.id, applied)).map((s) => decodeReadable(s));
    if (!missing.some((m) => STRUCTURAL.has(m.event.type))) return missing.reduce(evolveView, doc.view);
  }
  // no doc yet: a new customer's whole stream is often in hand (its first call)
  const whole = state.members.length === 0 && !doc ? inHand(known, state.id, 0, state.version) : undefined;
  if (whole) return foldCluster(state.id, [], whole);
  const events: RecordedEvent[] = [];
  for (const id of [state.id, ...state.members]) events.push(...(await store.readStream(tenant, id)).map((s) => decodeReadable(s)));
  return foldCluster(state.id, state.members, events);
};

/** The stream's events after `after` up to `upTo`, when `known` holds every one of them. */
const inHand = (known: readonly RecordedEvent[], streamId: string, after: number, upTo: number): RecordedEvent[] | undefined => {
  const out = known.filter((r) => r.streamId === streamId && r.version > after && r.version <= upTo).sort((a, b) => a.version - b.version);
  return out.length === upTo - after ? out : undefined;
};
