import { describe, expect, it } from 'vitest';
import { decide, type CustomerCommand, type FactEvent } from '../../../src/domain/customer/customer.decider.js';
import type { CustomerEvent, EventOf, MergeEvidence } from '../../../src/domain/customer/customer.events.js';
import { fold } from '../../../src/domain/customer/customer.state.js';
import { given, keyed, linked, recordAll, registered, stateOf, T0 } from '../../support/decider-spec.js';

const email = keyed('email', 'ada@example.com');
const anon = keyed('anonymous_id', 'anon-1');
const anonB = keyed('anonymous_id', 'anon-b');
const phoneB = keyed('phone', '+14155552671');

type Observe = Extract<CustomerCommand, { type: 'Observe' }>;
const observe = (over: Partial<Observe> = {}): Observe => ({ type: 'Observe', observedAt: T0, link: [], rejected: [], rulesVersion: 1, facts: [], ...over });

const rejectedEvent = (id = anon, reason: EventOf<'IdentifierRejected'>['data']['reason'] = 'IDENTIFIER_LIMIT_EXCEEDED'): EventOf<'IdentifierRejected'> => ({
  type: 'IdentifierRejected',
  v: 1,
  data: { type: id.type, key: id.key, reason, detail: 'because', rulesVersion: 1 },
  pii: { value: id.value },
});

const evidence: MergeEvidence = {
  rule: 'shared-identifier',
  triggeringEventId: 'msg-1',
  identifiers: [{ type: email.type, key: email.key }],
  forced: false,
  rulesVersion: 1,
};
const mergedInto = (survivorId: string, mergeId = 'm-1'): EventOf<'CustomerMergedInto'> => ({
  type: 'CustomerMergedInto',
  v: 1,
  data: { mergeId, survivorId },
});

const customerA = [registered('a', T0), linked(email, T0)];
const customerB = [registered('b', T0 + 1000), linked(anonB, T0 + 1000), linked(phoneB, T0 + 2000)];

describe('Register', () => {
  it('registers a new customer with its first observation time', () => {
    given([], 'a')
      .when({ type: 'Register', customerId: 'a', observedAt: T0 })
      .then([registered('a', T0)]);
  });

  it('does nothing for a customer that is already registered', () => {
    given([registered('a')])
      .when({ type: 'Register', customerId: 'a', observedAt: T0 + 5000 })
      .thenNothing();
  });
});

describe('Observe', () => {
  it('links only identifiers the customer does not hold yet', () => {
    given(customerA)
      .when(observe({ observedAt: T0 + 9, link: [email, anon] }))
      .then([linked(anon, T0 + 9)]);
  });

  it('records a rejection once per identifier and reason', () => {
    const spec = given([...customerA, rejectedEvent(anon, 'IDENTIFIER_LIMIT_EXCEEDED')]);
    spec.when(observe({ rejected: [{ identifier: anon, reason: 'IDENTIFIER_LIMIT_EXCEEDED', detail: 'again' }] })).thenNothing();
    spec.when(observe({ rulesVersion: 3, rejected: [{ identifier: anon, reason: 'DO_NOT_LINK', detail: 'split' }] })).then([
      {
        type: 'IdentifierRejected',
        v: 1,
        data: { type: 'anonymous_id', key: anon.key, reason: 'DO_NOT_LINK', detail: 'split', rulesVersion: 3 },
        pii: { value: 'anon-1' },
      },
    ]);
  });

  it('passes the facts through after the identity events, in order', () => {
    const facts: FactEvent[] = [
      { type: 'OrderPlaced', v: 1, data: { revenueMinor: 1999, currency: 'USD', products: [] } },
      { type: 'ConsentGranted', v: 1, data: { purpose: 'marketing' } },
    ];
    given(customerA)
      .when(observe({ link: [anon], facts }))
      .then([linked(anon, T0), ...facts]);
  });

  it('refuses an observation on a merged customer and names the survivor', () => {
    given([...customerB, mergedInto('a')])
      .when(observe({ link: [anon] }))
      .thenThrows('CUSTOMER_MERGED', { survivorId: 'a' });
  });

  it('refuses an observation on a customer that does not exist', () => {
    given([], 'nobody').when(observe()).thenThrows('CUSTOMER_NOT_FOUND');
  });
});

describe('Absorb', () => {
  it('carries the absorbed identifiers, members and do-not-link marks in CustomerMerged', () => {
    const absorbed = stateOf([
      ...customerB,
      {
        type: 'CustomerMerged',
        v: 1,
        data: {
          mergeId: 'm-0',
          absorbedId: 'c',
          absorbedMembers: ['d'],
          absorbedFirstObservedAt: T0 + 3000,
          absorbedVersion: 1,
          absorbedDoNotLink: ['x'],
          identifiers: [],
          evidence,
        },
      },
    ]);
    given(customerA)
      .when({ type: 'Absorb', mergeId: 'm-1', absorbed, evidence })
      .then([
        {
          type: 'CustomerMerged',
          v: 1,
          data: {
            mergeId: 'm-1',
            absorbedId: 'b',
            absorbedMembers: ['c', 'd'],
            absorbedFirstObservedAt: T0 + 1000,
            absorbedVersion: 4,
            absorbedDoNotLink: ['x'],
            identifiers: [
              { type: 'anonymous_id', key: anonB.key, observedAt: T0 + 1000, origin: 'b' },
              { type: 'phone', key: phoneB.key, observedAt: T0 + 2000, origin: 'b' },
            ],
            evidence,
          },
        },
      ]);
  });

  it('refuses to merge a customer into itself', () => {
    given(customerA)
      .when({ type: 'Absorb', mergeId: 'm-1', absorbed: stateOf(customerA), evidence })
      .thenThrows('MERGE_SAME_CUSTOMER');
  });

  it('does nothing when the customer was already absorbed', () => {
    const merged = decide({ type: 'Absorb', mergeId: 'm-1', absorbed: stateOf(customerB), evidence }, stateOf(customerA));
    given([...customerA, ...merged])
      .when({ type: 'Absorb', mergeId: 'm-2', absorbed: stateOf(customerB), evidence })
      .thenNothing();
    // also with the absorbed customer's state as it is now: merged into the survivor
    const bNow = stateOf([...customerB, mergedInto(stateOf(customerA).id)]);
    given([...customerA, ...merged])
      .when({ type: 'Absorb', mergeId: 'm-2', absorbed: bNow, evidence })
      .thenNothing();
  });

  it('refuses to absorb into a merged customer', () => {
    given([...customerB, mergedInto('z')])
      .when({ type: 'Absorb', mergeId: 'm-1', absorbed: stateOf(customerA), evidence })
      .thenThrows('CUSTOMER_MERGED', { survivorId: 'z' });
  });
});

describe('MarkMergedInto', () => {
  it('points the absorbed customer at its survivor, once', () => {
    given(customerB)
      .when({ type: 'MarkMergedInto', mergeId: 'm-1', survivorId: 'a' })
      .then([mergedInto('a')]);
    given([...customerB, mergedInto('a')])
      .when({ type: 'MarkMergedInto', mergeId: 'm-1', survivorId: 'a' })
      .thenNothing();
  });
});

describe('Unmerge and Restore', () => {
  it('refuses to undo a merge the customer does not have', () => {
    given(customerA).when({ type: 'Unmerge', mergeId: 'nope', reassignedEventIds: [], transferredKeys: [] }).thenThrows('MERGE_NOT_FOUND');
  });

  it('refuses to restore a customer that is not merged', () => {
    given(customerB).when({ type: 'Restore', mergeId: 'm-1', fromId: 'a', adopted: [], adoptedEventIds: [] }).thenThrows('MERGE_NOT_UNDOABLE');
  });

  it('restores a merged customer, marks the pair do-not-link and appends the adopted events', () => {
    const adopted: CustomerEvent[] = [{ type: 'InterestExpressed', v: 1, data: { interest: 'books' } }];
    const spec = given([...customerB, mergedInto('a')]);
    spec
      .when({ type: 'Restore', mergeId: 'm-1', fromId: 'a', adopted, adoptedEventIds: ['a-e9'] })
      .then([{ type: 'CustomerRestored', v: 1, data: { mergeId: 'm-1', fromId: 'a', adoptedEventIds: ['a-e9'] } }, ...adopted]);
  });
});

describe('evolve through merge and unmerge', () => {
  it('gives the survivor back its own identifiers and members, marked do-not-link with the absorbed', () => {
    const before = stateOf(customerA);
    const merge = decide({ type: 'Absorb', mergeId: 'm-1', absorbed: stateOf(customerB), evidence }, before);
    const whileMerged = stateOf([...customerA, ...merge]);
    expect([...whileMerged.identifiers.keys()].sort()).toEqual([anonB.key, email.key, phoneB.key].sort());
    expect(whileMerged.members).toEqual(['b']);

    const unmerge = decide({ type: 'Unmerge', mergeId: 'm-1', reassignedEventIds: [], transferredKeys: [] }, whileMerged);
    const events = recordAll('a', [...customerA, ...merge, ...unmerge]);
    const after = fold('a', events);
    expect(after).toEqual({ ...before, version: events.length, doNotLink: new Set(['b']) });
  });

  it('restores the absorbed customer as active, do-not-link with its former survivor', () => {
    const absorbedBefore = stateOf(customerB);
    const restore = decide({ type: 'Restore', mergeId: 'm-1', fromId: 'a', adopted: [], adoptedEventIds: [] }, stateOf([...customerB, mergedInto('a')]));
    const after = stateOf([...customerB, mergedInto('a'), ...restore]);
    expect(after).toEqual({ ...absorbedBefore, version: customerB.length + 2, doNotLink: new Set(['a']) });
  });
});

describe('Rekey', () => {
  const old = keyed('email', 'ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ');
  const now = { ...keyed('email', 'ada@example.com'), key: 'email:v2:ada@example.com' };
  const rekey: CustomerCommand = { type: 'Rekey', from: { type: old.type, key: old.key }, to: now, linkedAt: T0, reason: 'normalization-v2' };

  it('links the identifier under its new key and unlinks the old one', () => {
    given([registered('c-1'), linked(old)])
      .when(rekey)
      .then([
        { type: 'IdentifierLinked', v: 1, data: { type: 'email', key: now.key, observedAt: T0 }, pii: { value: 'ada@example.com' } },
        { type: 'IdentifierUnlinked', v: 1, data: { type: 'email', key: old.key, reason: 'normalization-v2' } },
      ]);
  });

  it('only unlinks the old key when the new one is already held, and does nothing once done', () => {
    given([registered('c-1'), linked(old), linked(now)])
      .when(rekey)
      .then([{ type: 'IdentifierUnlinked', v: 1, data: { type: 'email', key: old.key, reason: 'normalization-v2' } }]);
    given([registered('c-1'), linked(now)])
      .when(rekey)
      .then([]);
  });
});
