import type { EventStore, StoredEvent } from '../../src/application/ports/event-store.port.js';
import type { CustomerEvent, RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { keyed, linked, recordAll, registered } from './decider-spec.js';

// Long, identity-heavy customer histories for snapshot tests and measurements: links, rejections,
// merges and places among many plain facts, written to any event store in commits it accepts.

const merged = (n: number): CustomerEvent => ({
  type: 'CustomerMerged',
  v: 1,
  data: {
    mergeId: `m-${n}`,
    absorbedId: `absorbed-${n}`,
    absorbedMembers: [],
    absorbedFirstObservedAt: 0,
    absorbedVersion: 2,
    absorbedDoNotLink: [`other-${n}`],
    identifiers: [{ type: 'device', key: `device:${n}`, observedAt: n, origin: `absorbed-${n}` }],
    evidence: { rule: 'shared-identifier', identifiers: [{ type: 'device', key: `device:${n}` }], forced: false, rulesVersion: 1 },
  },
});

export const longHistory = (customerId: string, count: number): RecordedEvent[] =>
  recordAll(
    customerId,
    Array.from({ length: count }, (_, i): CustomerEvent => {
      if (i === 0) return registered(customerId);
      if (i % 10 === 1) return linked(keyed(i % 20 === 1 ? 'email' : 'anonymous_id', `v${i}`));
      if (i % 37 === 0) return merged(i);
      if (i % 41 === 0)
        return {
          type: 'IdentifierRejected',
          v: 1,
          data: { type: 'email', key: `email:r${i}`, reason: 'IDENTIFIER_LIMIT_EXCEEDED', detail: 'limit 5', rulesVersion: 1 },
        };
      if (i % 13 === 0) return { type: 'LocationObserved', v: 1, data: { country: 'ZA', city: `City ${i}` } };
      return { type: 'PageViewed', v: 1, data: { name: `page ${i}` } };
    }),
  );

/** The storage form of a recorded event; `data` is stored readable, and no pii is needed for identity. */
export const storedOf = (tenant: string, r: RecordedEvent): StoredEvent => ({
  tenant,
  streamId: r.streamId,
  version: r.version,
  eventId: r.eventId,
  type: r.event.type,
  v: r.event.v,
  observedAt: r.observedAt,
  recordedAt: r.observedAt,
  source: r.source,
  sourcePriority: r.sourcePriority,
  channel: r.channel,
  data: r.event.data,
});

/** Appends consecutive events of one stream in commits of at most 100 events (the store limit). */
export const commitHistory = async (store: EventStore, tenant: string, recorded: readonly RecordedEvent[]): Promise<void> => {
  for (let i = 0; i < recorded.length; i += 100) {
    const chunk = recorded.slice(i, i + 100);
    const first = chunk[0]!;
    const result = await store.commit({
      tenant,
      streams: [{ streamId: first.streamId, expectedVersion: first.version - 1, events: chunk.map((r) => storedOf(tenant, r)) }],
      claims: [],
    });
    if (result.status !== 'committed') throw new Error(`history commit at version ${first.version} was ${result.status}`);
  }
};
