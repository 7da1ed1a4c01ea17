import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/domain/customer/customer.decider.js';
import type { CustomerEvent, EventOf, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { fold, foldInPlace } from '../../../src/domain/customer/customer.state.js';
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

describe('planUnmerge: decisions requested through a customer id', () => {
  // s absorbed b (which had absorbed c before) in m-1, then d in m-2; operators then recorded
  // decisions through each of those ids, and engagement answered calls of either side
  const absorbedChain: CustomerEvent = { ...merged, data: { ...merged.data, absorbedMembers: ['c'] } } as CustomerEvent;
  const mergedD: CustomerEvent = {
    type: 'CustomerMerged',
    v: 1,
    data: { ...(merged as EventOf<'CustomerMerged'>).data, mergeId: 'm-2', absorbedId: 'd', identifiers: [] },
  };
  const consent = (granted: boolean, requestedId?: string): CustomerEvent => ({
    type: granted ? 'ConsentGranted' : 'ConsentWithdrawn',
    v: 1,
    data: { purpose: 'marketing', ...(requestedId ? { requestedId } : {}) },
  });
  const restriction = (restrict: boolean, requestedId: string): CustomerEvent => ({
    type: restrict ? 'ProcessingRestricted' : 'ProcessingRestrictionLifted',
    v: 1,
    data: { actor: 'ops', requestedId },
  });
  const interest: CustomerEvent = { type: 'InterestExpressed', v: 1, data: { interest: 'shoes' } };
  const decided = (triggerEventId: string): CustomerEvent => ({
    type: 'EngagementDecided',
    v: 1,
    data: { decisionId: `d-${triggerEventId}`, triggerEventId, trigger: 'InterestExpressed', outcome: 'suppressed', reason: 'NO_CONSENT' },
  });
  const events = stream([
    [registered('s'), [s1.key]],
    [linked(s1), [s1.key]],
    [absorbedChain, []], // v3: m-1
    [mergedD, []], // v4: m-2
    [consent(false, 'b'), []], // v5: b's own withdrawal: moves
    [restriction(true, 'b'), []], // v6: b's restriction: moves
    [consent(false, 'c'), []], // v7: c came in with b (an earlier merge of b's): moves with b
    [consent(true, 's'), []], // v8: asked through the survivor's id: stays
    [restriction(true, 'd'), []], // v9: d came in by another merge: stays
    [consent(true), []], // v10: stored before requested ids were recorded, no identifiers: stays
    [interest, [b1.key]], // v11: b's call: moves
    [decided('s-e11'), []], // v12: the decision on b's call follows it
    [interest, [s1.key]], // v13: the survivor's call: stays
    [decided('s-e13'), []], // v14: and so does its decision
  ]);
  const state = fold('s', events);
  const plan = planUnmerge(state, 'm-1', events);

  it('gives back what was requested through the absorbed id or a member it brought in, and engagement decisions with their calls', () => {
    expect(plan.moved.map((e) => e.version)).toEqual([5, 6, 7, 11, 12]);
  });

  it('leaves the survivor the restriction it keeps itself (d’s), and says so only when a restriction decision moves', () => {
    expect(state.restricted).toBe(true);
    expect(plan.restriction).toEqual({ restricted: true, requestedId: 'd' });
    const withoutD = events.filter((e) => e.version !== 9);
    expect(planUnmerge(fold('s', withoutD), 'm-1', withoutD).restriction).toEqual({ restricted: false });
    const noRestrictionMoves = events.filter((e) => e.version !== 6);
    expect(planUnmerge(fold('s', noRestrictionMoves), 'm-1', noRestrictionMoves).restriction).toBeUndefined();
  });

  it('keeps the other merge’s decisions with the survivor when that merge is undone', () => {
    expect(planUnmerge(state, 'm-2', events).moved.map((e) => e.version)).toEqual([9]);
  });

  it('lifts the survivor’s restriction when the one decision behind it goes back', () => {
    const withoutD = events.filter((e) => e.version !== 9).map((e, i) => ({ ...e, version: i + 1, eventId: `s-e${i + 1}` }));
    const before = fold('s', withoutD);
    expect(before.restricted).toBe(true);
    const p = planUnmerge(before, 'm-1', withoutD);
    const [unmerged] = decide(
      { type: 'Unmerge', mergeId: 'm-1', reassignedEventIds: p.moved.map((e) => e.eventId), transferredKeys: p.transferredKeys, restriction: p.restriction },
      before,
    );
    const after = [...withoutD, recorded('s', withoutD.length + 1, unmerged!)];
    expect(fold('s', after).restricted).toBe(false);
    expect(foldInPlace('s', after)).toEqual(fold('s', after));
  });

  it('records a restriction asked through another id than the one in force (d’s), even though the flag already says so', () => {
    expect(state.restrictedThrough).toBe('d');
    expect(decide({ type: 'Restrict', actor: 'ops', requestedId: 'd' }, state)).toEqual([]);
    expect(decide({ type: 'Restrict', actor: 'ops', requestedId: 'b' }, state)).toEqual([restriction(true, 'b')]);
    expect(decide({ type: 'Restrict', actor: 'ops', requestedId: 's' }, state)).toEqual([restriction(true, 's')]);
  });

  it('keeps the survivor restricted when it asked for it too, after the absorbed customer had', () => {
    const base = events.slice(0, 3); // registered, linked, m-1
    const bAsked = [...base, recorded('s', 4, restriction(true, 'b'))];
    const [sAsked] = decide({ type: 'Restrict', actor: 'ops', requestedId: 's' }, fold('s', bAsked));
    const history = [...bAsked, recorded('s', 5, sAsked!)];
    const p = planUnmerge(fold('s', history), 'm-1', history);
    expect(p.moved.map((e) => e.version)).toEqual([4]);
    expect(p.restriction).toEqual({ restricted: true, requestedId: 's' });
    const [unmerged] = decide(
      { type: 'Unmerge', mergeId: 'm-1', reassignedEventIds: ['s-e4'], transferredKeys: [], restriction: p.restriction },
      fold('s', history),
    );
    const after = fold('s', [...history, recorded('s', 6, unmerged!)]);
    expect(after).toMatchObject({ restricted: true, restrictedThrough: 's' });
    expect(decide({ type: 'Restrict', actor: 'ops', requestedId: 's' }, after)).toEqual([]);
  });
});
