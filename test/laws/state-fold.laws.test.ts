import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { CustomerEvent, RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { fromSnapshot, toSnapshot } from '../../src/domain/customer/customer.snapshot.js';
import { evolve, foldInPlace, initialState, type CustomerState } from '../../src/domain/customer/customer.state.js';
import { T0 } from '../support/decider-spec.js';

// Projections fold whole streams with foldInPlace (one mutable draft) instead of fold (a new state
// per event). That is only allowed if both give the same state, key for key and in the same key
// order, from any starting state (the initial one, or one restored from a snapshot), and the
// starting state is never changed. Histories here need not make sense to the decider: the fold
// must agree on any sequence of events.

const RUNS = Number(process.env.LAW_RUNS ?? 500);

const ev = (type: string, data: unknown): CustomerEvent => ({ type, v: 1, data }) as CustomerEvent;
const KEYS = ['k1', 'k2', 'k3', 'k4'] as const;
const IDS = ['c1', 'c2', 'c3'] as const;
const MERGES = ['m1', 'm2'] as const;
const evidence = { rule: 'shared-identifier', identifiers: [{ type: 'email', key: 'k1' }], forced: false, rulesVersion: 1 };

const arbEvent: fc.Arbitrary<CustomerEvent> = fc.oneof(
  fc.constantFrom(...IDS).map((customerId) => ev('CustomerRegistered', { customerId, firstObservedAt: T0 })),
  fc.tuple(fc.constantFrom(...KEYS), fc.nat(5)).map(([key, t]) => ev('IdentifierLinked', { type: 'email', key, observedAt: T0 + t })),
  fc.constantFrom(...KEYS).map((key) => ev('IdentifierRejected', { type: 'email', key, reason: 'DO_NOT_LINK', detail: 'x', rulesVersion: 1 })),
  fc.constantFrom(...KEYS).map((key) => ev('IdentifierUnlinked', { type: 'email', key, reason: 'unmerge' })),
  fc
    .record({
      mergeId: fc.constantFrom(...MERGES),
      absorbedId: fc.constantFrom(...IDS),
      absorbedMembers: fc.subarray([...IDS]),
      first: fc.nat(5),
      dnl: fc.subarray([...IDS]),
      keys: fc.subarray([...KEYS]),
    })
    .map(({ mergeId, absorbedId, absorbedMembers, first, dnl, keys }) =>
      ev('CustomerMerged', {
        mergeId,
        absorbedId,
        absorbedMembers,
        absorbedFirstObservedAt: T0 + first,
        absorbedVersion: 3,
        absorbedDoNotLink: dnl,
        identifiers: keys.map((key) => ({ type: 'email', key, observedAt: T0, origin: absorbedId })),
        evidence,
      }),
    ),
  fc.tuple(fc.constantFrom(...MERGES), fc.constantFrom(...IDS)).map(([mergeId, survivorId]) => ev('CustomerMergedInto', { mergeId, survivorId })),
  fc
    .record(
      {
        mergeId: fc.constantFrom(...MERGES),
        absorbedId: fc.constantFrom(...IDS),
        transferredKeys: fc.subarray([...KEYS]),
        // the survivor's restriction when restriction decisions went back
        restriction: fc.record({ restricted: fc.boolean(), requestedId: fc.constantFrom(...IDS) }, { requiredKeys: ['restricted'] }),
      },
      { requiredKeys: ['mergeId', 'absorbedId', 'transferredKeys'] },
    )
    .map((d) => ev('CustomerUnmerged', { ...d, reassignedEventIds: [] })),
  fc.tuple(fc.constantFrom(...MERGES), fc.constantFrom(...IDS)).map(([mergeId, fromId]) => ev('CustomerRestored', { mergeId, fromId, adoptedEventIds: [] })),
  fc.constantFrom('London', 'Cape Town').map((city) => ev('LocationObserved', { city, country: 'ZA' })),
  fc.constant(ev('CustomerErased', { erasureId: 'e', requestedId: 'c1' })),
  fc
    .tuple(fc.boolean(), fc.option(fc.constantFrom(...IDS), { nil: undefined }))
    .map(([on, requestedId]) => ev(on ? 'ProcessingRestricted' : 'ProcessingRestrictionLifted', { actor: 'ops', ...(requestedId ? { requestedId } : {}) })),
  fc.constant(ev('PageViewed', { name: 'Home' })),
  fc.constant(ev('OrderPlaced', { revenueMinor: 100, currency: 'USD', products: [] })),
);

const arbEvents = (from: number, maxLength: number) =>
  fc.array(arbEvent, { maxLength }).map((xs) =>
    xs.map(
      (event, i): RecordedEvent => ({
        eventId: `e${from + i}`,
        streamId: 'c1',
        version: from + i + 1,
        observedAt: T0 + i,
        source: 'web',
        sourcePriority: 10,
        channel: 'web',
        event,
      }),
    ),
  );

/** Where a fold starts: the initial state, or a snapshot of a folded prefix restored (every key present). */
const arbFrom: fc.Arbitrary<CustomerState> = fc.oneof(
  fc.constant(initialState('c1')),
  arbEvents(0, 20).map((xs) => xs.reduce(evolve, initialState('c1'))),
  arbEvents(0, 20).map((xs) => fromSnapshot(toSnapshot(xs.reduce(evolve, initialState('c1'))))),
);

/** A state as plain data in key order, Maps and Sets as entry lists: equal strings, equal states key for key. */
const plain = (s: CustomerState): string =>
  JSON.stringify(s, (_k, v: unknown) => (v instanceof Map ? { map: [...v] } : v instanceof Set ? { set: [...v] } : v === undefined ? '(undefined)' : v));

describe('foldInPlace', () => {
  test.prop([arbFrom, arbEvents(20, 60)], { numRuns: RUNS })('gives exactly the state fold gives, and leaves the starting state alone', (from, events) => {
    const before = plain(from);
    const expected = events.reduce(evolve, from);
    const folded = foldInPlace('c1', events, from);
    expect(folded).toStrictEqual(expected);
    expect(plain(folded)).toBe(plain(expected));
    expect(plain(from)).toBe(before);
    if (events.length === 0) expect(folded).toBe(from);
  });
});
