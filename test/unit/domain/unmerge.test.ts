import { describe, expect, it } from 'vitest';
import type { CustomerEvent, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { fold } from '../../../src/domain/customer/customer.state.js';
import { planUnmerge } from '../../../src/domain/customer/unmerge.js';
import { DomainError } from '../../../src/domain/shared/errors.js';
import { keyed, linked, recorded, registered, T0 } from '../../support/decider-spec.js';

const s1 = keyed('anonymous_id', 's1');
const b1 = keyed('anonymous_id', 'b1');
const n1 = keyed('email', 'new@example.com');
const m1 = keyed('email', 'mine@example.com');

const page = (name: string): CustomerEvent => ({ type: 'PageViewed', v: 1, data: { name } });
const merged: CustomerEvent = {
  type: 'CustomerMerged',
  v: 1,
  data: {
    mergeId: 'm-1',
    absorbedId: 'b',
    absorbedMembers: [],
    absorbedFirstObservedAt: T0 + 1,
    absorbedVersion: 1,
    absorbedDoNotLink: [],
    identifiers: [{ type: b1.type, key: b1.key, observedAt: T0 + 1, origin: 'b' }],
    evidence: { rule: 'manual', identifiers: [], forced: false, rulesVersion: 1 },
  },
};

/** The survivor's stream: each entry is an event and the claim keys its originating call carried. */
const stream = (entries: readonly [CustomerEvent, readonly string[]][]): RecordedEvent[] =>
  entries.map(([event, keys], i) => recorded('s', i + 1, event, { identifierKeys: keys }));

const survivorEvents = stream([
  [registered('s'), [s1.key]],
  [linked(s1), [s1.key]],
  [page('before the merge, absorbed key'), [b1.key]], // v3: before the merge, never moves
  [merged, []], // v4
  [page('absorbed only'), [b1.key]], // v5: moves
  [page('both sides'), [s1.key, b1.key]], // v6: stays, and b1 stays the absorbed side's key
  [page('no identifiers'), []], // v7: stays
  [linked(n1), [b1.key, n1.key]], // v8: moves, n1 goes with it
  [page('new key only'), [n1.key]], // v9: moves, n1 is the absorbed side's now
  [linked(m1), [s1.key, m1.key]], // v10: stays, m1 stays with the survivor
  [page('survivor key linked later'), [m1.key]], // v11: stays
  [page('absorbed only, after all that'), [b1.key]], // v12: moves
]);
const survivor = fold('s', survivorEvents);

describe('planUnmerge', () => {
  const plan = planUnmerge(survivor, 'm-1', survivorEvents);

  it('moves events after the merge that carry only the absorbed side’s identifiers', () => {
    expect(plan.absorbedId).toBe('b');
    expect(plan.moved.map((e) => e.version)).toEqual([5, 8, 9, 12]);
  });

  it('keeps events carrying both sides’ identifiers, or none, with the survivor', () => {
    const kept = survivorEvents.filter((e) => !plan.moved.includes(e)).map((e) => e.version);
    expect(kept).toEqual([1, 2, 3, 4, 6, 7, 10, 11]);
  });

  it('transfers keys that moved events linked after the merge, and only those', () => {
    expect(plan.transferredKeys).toEqual([n1.key]);
  });

  it('moves nothing when nothing arrived after the merge', () => {
    const atMerge = survivorEvents.slice(0, 4);
    expect(planUnmerge(fold('s', atMerge), 'm-1', atMerge)).toEqual({ absorbedId: 'b', moved: [], transferredKeys: [] });
  });

  it('refuses a merge the survivor does not have', () => {
    expect(() => planUnmerge(survivor, 'nope', survivorEvents)).toThrowError(DomainError);
    try {
      planUnmerge(survivor, 'nope', survivorEvents);
    } catch (e) {
      expect((e as DomainError).code).toBe('MERGE_NOT_FOUND');
    }
  });
});
