import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { CustomerEvent } from '../../../src/domain/customer/customer.events.js';
import { CustomerSnapshot, fromSnapshot, SNAPSHOT_SCHEMA, toSnapshot } from '../../../src/domain/customer/customer.snapshot.js';
import { fold, type CustomerState } from '../../../src/domain/customer/customer.state.js';
import { keyed, linked, recordAll, registered, T0 } from '../../support/decider-spec.js';

// A snapshot stands in for the events it covers, so restoring one must give exactly the folded
// state, down to the order Maps and Sets iterate in (decisions copy that order into events).

const RUNS = Number(process.env.LAW_RUNS ?? 200);
const ID = 'c-1';

const arbKey = fc.constantFrom('email:a', 'email:b', 'phone:c', 'device:d', 'user:e');
const typeOf = (key: string) => key.split(':')[0]!;
const arbOther = fc.constantFrom('c-2', 'c-3', 'c-4');
const arbMergeId = fc.constantFrom('m-1', 'm-2', 'm-3');
const arbAt = fc.integer({ min: 0, max: 10_000 }).map((m) => T0 + m * 60_000);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const arbIdentityEvent: fc.Arbitrary<CustomerEvent> = fc.oneof(
  fc.tuple(arbKey, arbAt).map(([key, at]) => linked({ type: typeOf(key), key, value: `${key}@example.com` }, at)),
  fc.tuple(arbKey, fc.constantFrom('IDENTIFIER_BLOCKED', 'IDENTIFIER_LIMIT_EXCEEDED', 'DO_NOT_LINK') as fc.Arbitrary<'IDENTIFIER_BLOCKED'>).map(
    ([key, reason]): CustomerEvent => ({
      type: 'IdentifierRejected',
      v: 1,
      data: { type: typeOf(key), key, reason, detail: 'limit', rulesVersion: 1 },
      pii: { value: 'x' },
    }),
  ),
  arbKey.map((key): CustomerEvent => ({ type: 'IdentifierUnlinked', v: 1, data: { type: typeOf(key), key, reason: 'manual' } })),
  fc
    .record({
      mergeId: arbMergeId,
      absorbedId: arbOther,
      absorbedMembers: fc.subarray(['c-5', 'c-6']),
      absorbedFirstObservedAt: arbAt,
      absorbedDoNotLink: fc.subarray(['c-1', 'c-2', 'c-3', 'c-7']),
      identifiers: fc.array(fc.tuple(arbKey, arbAt, arbOther), { maxLength: 3 }),
      forced: fc.boolean(),
      actor: opt(fc.constantFrom('ops@acme')),
      reason: opt(fc.constantFrom('same person')),
    })
    .map(
      ({ identifiers, forced, actor, reason, ...d }): CustomerEvent => ({
        type: 'CustomerMerged',
        v: 1,
        data: {
          ...d,
          absorbedVersion: 3,
          identifiers: identifiers.map(([key, observedAt, origin]) => ({ type: typeOf(key), key, observedAt, origin })),
          evidence: {
            rule: forced ? 'manual' : 'shared-identifier',
            identifiers: identifiers.map(([key]) => ({ type: typeOf(key), key })),
            forced,
            actor,
            reason,
            rulesVersion: 2,
          },
        },
      }),
    ),
  fc.tuple(arbMergeId, arbOther).map(([mergeId, survivorId]): CustomerEvent => ({ type: 'CustomerMergedInto', v: 1, data: { mergeId, survivorId } })),
  fc.tuple(arbMergeId, arbOther, fc.subarray(['email:a', 'phone:c'])).map(
    ([mergeId, absorbedId, transferredKeys]): CustomerEvent => ({
      type: 'CustomerUnmerged',
      v: 1,
      data: { mergeId, absorbedId, reassignedEventIds: [], transferredKeys },
    }),
  ),
  fc
    .tuple(arbMergeId, arbOther)
    .map(([mergeId, fromId]): CustomerEvent => ({ type: 'CustomerRestored', v: 1, data: { mergeId, fromId, adoptedEventIds: [] } })),
  fc
    .record({ country: opt(fc.constantFrom('ZA', 'GB')), city: opt(fc.constantFrom('Cape Town', 'London')) })
    .map((data): CustomerEvent => ({ type: 'LocationObserved', v: 1, data })),
  fc.constant<CustomerEvent>({ type: 'TraitsUpdated', v: 1, data: { names: ['plan'], context: 'identify' }, pii: { traits: { plan: 'pro' } } }),
);

/** Mostly registered streams; sometimes not, so the unregistered state (firstObservedAt = +Infinity) is covered. */
const arbHistory = fc
  .tuple(fc.boolean(), arbAt, fc.array(arbIdentityEvent, { maxLength: 60 }))
  .map(([reg, at, rest]) => recordAll(ID, reg ? [registered(ID, at), ...rest] : rest));

/** What a snapshot store gives back: the JSON text, parsed and validated. */
const throughStorage = (s: CustomerState): CustomerState => fromSnapshot(CustomerSnapshot.parse(JSON.parse(JSON.stringify(toSnapshot(s)))));

const iterationOrder = (s: CustomerState) => ({
  identifiers: [...s.identifiers.keys()],
  rejections: [...s.rejections],
  merges: [...s.merges.keys()],
  doNotLink: [...s.doNotLink],
});

describe('Customer snapshots', () => {
  test.prop([arbHistory], { numRuns: RUNS })('restoring a snapshot gives the folded state, iterating in the same order', (history) => {
    const folded = fold(ID, history);
    const restored = throughStorage(folded);
    expect(restored).toEqual(folded);
    expect(iterationOrder(restored)).toEqual(iterationOrder(folded));
  });

  test.prop([arbHistory, fc.nat()], { numRuns: RUNS })('a snapshot plus the tail folds to the same state as the whole history', (history, cut) => {
    const at = history.length === 0 ? 0 : cut % (history.length + 1);
    const resumed = fold(ID, history.slice(at), throughStorage(fold(ID, history.slice(0, at))));
    const whole = fold(ID, history);
    expect(resumed).toEqual(whole);
    expect(iterationOrder(resumed)).toEqual(iterationOrder(whole));
  });

  it('holds claim keys and types, never the personal values the events carried', () => {
    const email = keyed('email', 'alice@example.com');
    const state = fold(ID, recordAll(ID, [registered(ID), { ...linked(email), data: { type: 'email', key: 'hmac-of-alice', observedAt: T0 } }]));
    const json = JSON.stringify(toSnapshot(state));
    expect(json).toContain('hmac-of-alice');
    expect(json).not.toContain('alice@example.com');
  });

  it('refuses another schema version and anything it does not know, so the loader folds instead', () => {
    const good = toSnapshot(fold(ID, recordAll(ID, [registered(ID), linked(keyed('email', 'a'))])));
    expect(CustomerSnapshot.safeParse(good).success).toBe(true);
    expect(CustomerSnapshot.safeParse({ ...good, schema: SNAPSHOT_SCHEMA + 1 }).success).toBe(false);
    // schema 1 may hold an operator's merge reason, readable: folded again, never read
    expect(SNAPSHOT_SCHEMA).toBe(2);
    expect(CustomerSnapshot.safeParse({ ...good, schema: 1 }).success).toBe(false);
    expect(CustomerSnapshot.safeParse({ ...good, traits: { plan: 'pro' } }).success).toBe(false);
    expect(CustomerSnapshot.safeParse({ ...good, identifiers: [{ key: 'email:a' }] }).success).toBe(false);
    expect(CustomerSnapshot.safeParse('not a snapshot').success).toBe(false);
  });
});
