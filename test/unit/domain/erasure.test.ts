import { describe, expect, it } from 'vitest';
import type { CustomerCommand } from '../../../src/domain/customer/customer.decider.js';
import type { CustomerEvent, EventOf } from '../../../src/domain/customer/customer.events.js';
import { CustomerSnapshot, fromSnapshot, toSnapshot } from '../../../src/domain/customer/customer.snapshot.js';
import { emptyView, evolveView, foldCluster, mergeViews } from '../../../src/domain/projection/customer360.js';
import { given, keyed, linked, recorded, registered, stateOf, T0 } from '../../support/decider-spec.js';

const email = keyed('email', 'ada@example.com');
const customerA = [registered('a', T0), linked(email, T0)];
const erased = (erasureId = 'er-1', requestedId = 'a'): EventOf<'CustomerErased'> => ({ type: 'CustomerErased', v: 1, data: { erasureId, requestedId } });
const restricted = (actor = 'dpo', reason?: string): EventOf<'ProcessingRestricted'> => ({
  type: 'ProcessingRestricted',
  v: 1,
  data: { actor, ...(reason ? { reason } : {}) },
});
const lifted = (actor = 'dpo'): EventOf<'ProcessingRestrictionLifted'> => ({ type: 'ProcessingRestrictionLifted', v: 1, data: { actor } });
const mergedInto: CustomerEvent = { type: 'CustomerMergedInto', v: 1, data: { mergeId: 'm-1', survivorId: 's' } };

describe('Erase', () => {
  it('writes the tombstone, holding ids only', () => {
    given(customerA)
      .when({ type: 'Erase', erasureId: 'er-1', requestedId: 'x' })
      .then([erased('er-1', 'x')]);
  });

  it('tombstones an absorbed customer too (the whole cluster goes)', () => {
    given([...customerA, mergedInto])
      .when({ type: 'Erase', erasureId: 'er-1', requestedId: 'a' })
      .then([erased()]);
  });

  it('does nothing the second time', () => {
    given([...customerA, erased()])
      .when({ type: 'Erase', erasureId: 'er-2', requestedId: 'a' })
      .thenNothing();
  });

  it('refuses a customer that does not exist', () => {
    given([], 'nobody').when({ type: 'Erase', erasureId: 'er-1', requestedId: 'nobody' }).thenThrows('CUSTOMER_NOT_FOUND');
  });

  const later: readonly CustomerCommand[] = [
    { type: 'Register', customerId: 'a', observedAt: T0 },
    { type: 'Observe', observedAt: T0, link: [keyed('email', 'new@example.com')], rejected: [], rulesVersion: 1, facts: [] },
    { type: 'Observe', observedAt: T0, link: [], rejected: [], rulesVersion: 1, facts: [] },
    { type: 'MarkMergedInto', mergeId: 'm-9', survivorId: 'z' },
    { type: 'Unmerge', mergeId: 'm-1', reassignedEventIds: [], transferredKeys: [] },
    { type: 'Restore', mergeId: 'm-1', fromId: 's', adopted: [], adoptedEventIds: [] },
    { type: 'RecordConsent', purpose: 'marketing', granted: true, observedAt: T0, source: 'api' },
    { type: 'Restrict', actor: 'dpo' },
    { type: 'LiftRestriction', actor: 'dpo' },
  ];
  it.each(later.map((c) => [c.type, c] as const))('refuses %s afterwards with CUSTOMER_ERASED', (_type, command) => {
    given([...customerA, erased()])
      .when(command)
      .thenThrows('CUSTOMER_ERASED', { customerId: 'a' });
  });

  it('makes the state terminal, keeping which cluster it was', () => {
    const s = stateOf([...customerA, mergedInto, erased()], 'a');
    expect(s).toMatchObject({ status: 'erased', mergedInto: 's', version: 4 });
  });
});

describe('Restrict and LiftRestriction', () => {
  it('restricts an active customer, with the actor and a reason code', () => {
    given(customerA)
      .when({ type: 'Restrict', actor: 'dpo', reason: 'art18.accuracy' })
      .then([restricted('dpo', 'art18.accuracy')]);
  });

  it('does nothing when already so', () => {
    given([...customerA, restricted()])
      .when({ type: 'Restrict', actor: 'other' })
      .thenNothing();
    given(customerA).when({ type: 'LiftRestriction', actor: 'dpo' }).thenNothing();
  });

  it('lifts a restriction', () => {
    given([...customerA, restricted()])
      .when({ type: 'LiftRestriction', actor: 'dpo' })
      .then([lifted()]);
    expect(stateOf([...customerA, restricted(), lifted()]).restricted).toBe(false);
  });

  it('refuses free text as a reason (it is stored readable)', () => {
    given(customerA).when({ type: 'Restrict', actor: 'dpo', reason: 'Ada asked on the phone' }).thenThrows('VALIDATION_FAILED');
  });

  it('goes to the survivor, not an absorbed customer', () => {
    given([...customerA, mergedInto])
      .when({ type: 'Restrict', actor: 'dpo' })
      .thenThrows('CUSTOMER_MERGED', { survivorId: 's' });
  });
});

describe('RecordConsent', () => {
  it('records a grant or a withdrawal under the purpose as ingest spells it', () => {
    given(customerA)
      .when({ type: 'RecordConsent', purpose: ' Marketing ', granted: true, observedAt: T0, source: 'api' })
      .then([{ type: 'ConsentGranted', v: 1, data: { purpose: 'marketing' } }]);
    given(customerA)
      .when({ type: 'RecordConsent', purpose: 'Email', granted: false, observedAt: T0, source: 'api' })
      .then([{ type: 'ConsentWithdrawn', v: 1, data: { purpose: 'email' } }]);
  });

  it('refuses an empty purpose and a customer that does not exist', () => {
    given(customerA).when({ type: 'RecordConsent', purpose: '  ', granted: true, observedAt: T0, source: 'api' }).thenThrows('VALIDATION_FAILED');
    given([], 'x').when({ type: 'RecordConsent', purpose: 'marketing', granted: true, observedAt: T0, source: 'api' }).thenThrows('CUSTOMER_NOT_FOUND');
  });
});

describe('snapshots of erased and restricted customers', () => {
  it('round-trip', () => {
    for (const events of [
      [...customerA, restricted()],
      [...customerA, mergedInto, erased()],
    ]) {
      const s = stateOf(events, 'a');
      const snap = CustomerSnapshot.parse(JSON.parse(JSON.stringify(toSnapshot(s))));
      expect(fromSnapshot(snap)).toEqual(s);
    }
  });
});

describe('the 360 view shows restriction', () => {
  const r = (id: string, v: number, e: CustomerEvent, at: number) => recorded(id, v, e, { observedAt: at, eventId: `${id}-${v}` });

  it('as the latest decision, whatever order the events fold in, without counting as activity', () => {
    const events = [r('a', 3, restricted(), T0 + 10), r('a', 4, lifted(), T0 + 20), r('b', 2, restricted(), T0 + 30)];
    const forward = foldCluster('a', ['b'], events);
    const backward = foldCluster('a', ['b'], [...events].reverse());
    expect(forward).toEqual(backward);
    expect(forward).toMatchObject({ restricted: true, eventCount: 0 });
    expect(evolveView(emptyView('a'), events[0]!)).toMatchObject({ restricted: true, timeline: [] });
  });

  it('joins on merge like folding the union', () => {
    const a = [r('a', 3, restricted(), T0 + 10), r('a', 4, lifted(), T0 + 40)];
    const b = [r('b', 2, restricted(), T0 + 30)];
    const joined = mergeViews(foldCluster('a', [], a), foldCluster('b', [], b));
    expect(joined.restricted).toBe(false);
    expect({ ...joined, aliases: ['b'] }).toEqual(foldCluster('a', ['b'], [...a, ...b]));
    expect(mergeViews(emptyView('a'), emptyView('b')).restricted).toBe(false);
  });
});
