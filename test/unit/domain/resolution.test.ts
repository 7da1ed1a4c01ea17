import { describe, expect, it } from 'vitest';
import type { CustomerEvent } from '../../../src/domain/customer/customer.events.js';
import type { CustomerState } from '../../../src/domain/customer/customer.state.js';
import type { KeyedIdentifier } from '../../../src/domain/identity/identifier.js';
import { resolve, type Resolution } from '../../../src/domain/identity/resolution.js';
import { compileRules, DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../src/domain/identity/rules.js';
import { DAY, keyed, linked, registered, stateOf, T0 } from '../../support/decider-spec.js';

const NOW = T0 + 100 * DAY;

const customer = (
  id: string,
  firstObservedAt: number,
  ids: readonly KeyedIdentifier[],
  extra: readonly CustomerEvent[] = [],
  linkedAt = firstObservedAt,
): CustomerState => stateOf([registered(id, firstObservedAt), ...ids.map((i) => linked(i, linkedAt)), ...extra]);

const run = (incoming: readonly KeyedIdentifier[], customers: readonly CustomerState[], rules: IdentityRules = DEFAULT_IDENTITY_RULES): Resolution => {
  const owners = new Map<string, string>();
  for (const c of customers) for (const key of c.identifiers.keys()) owners.set(key, c.id);
  return resolve({
    incoming,
    owners,
    customers: new Map(customers.map((c) => [c.id, c])),
    rules: compileRules(rules),
    observedAt: NOW,
    newCustomerId: 'new',
  });
};

const resolved = (r: Resolution) => {
  if (r.kind === 'unresolvable') throw new Error('expected a resolution with a survivor');
  return r;
};
const reasons = (r: Resolution) => r.rejected.map((x) => [x.identifier.key, x.reason]);

const u1 = keyed('user_id', 'u1');
const u2 = keyed('user_id', 'u2');
const a1 = keyed('anonymous_id', 'a1');
const a2 = keyed('anonymous_id', 'a2');
const a3 = keyed('anonymous_id', 'a3');
const e1 = keyed('email', 'ada@example.com');
const e2 = keyed('email', 'ada@work.example.com');
const p1 = keyed('phone', '+14155552671');

describe('resolve: the identity ladder', () => {
  it('creates a new customer when nothing matches', () => {
    const r = resolved(run([a1, e1], []));
    expect(r).toMatchObject({ kind: 'new', survivorId: 'new', absorbed: [], link: [a1, e1], rejected: [], guardTripped: false });
  });

  it('attaches to the one customer that matches and links only the new identifiers', () => {
    const r = resolved(run([a1, e1], [customer('x', T0, [a1])]));
    expect(r).toMatchObject({ kind: 'attach', survivorId: 'x', absorbed: [], link: [e1], rejected: [] });
  });

  it('merges several matches into the customer first observed earliest', () => {
    const early = customer('zz-late-id', T0, [a1]);
    const late = customer('aa-early-id', T0 + DAY, [a2]);
    const r = resolved(run([a2, a1, e1], [late, early]));
    expect(r).toMatchObject({ kind: 'merge', survivorId: 'zz-late-id', absorbed: ['aa-early-id'], link: [e1] });
  });

  it('breaks a tie on first observation by the lowest customer id', () => {
    const r = resolved(run([a1, a2, a3], [customer('c', T0, [a3]), customer('b', T0, [a2]), customer('a', T0, [a1])]));
    expect(r).toMatchObject({ kind: 'merge', survivorId: 'a', absorbed: ['b', 'c'] });
  });

  it('lists, per absorbed customer, the incoming identifiers that tie it to the survivor', () => {
    const r = resolved(run([e1, a2, a3, p1], [customer('s', T0, [e1]), customer('b', T0 + 1, [a2]), customer('c', T0 + 2, [a3])]));
    expect(r.kind).toBe('merge');
    expect(r.evidence.get('b')).toEqual([e1, a2]);
    expect(r.evidence.get('c')).toEqual([e1, a3]);
    expect(r.link).toEqual([p1]);
  });
});

describe('resolve: limits', () => {
  it('drops the lowest-priority identifier on a user_id conflict and decides again', () => {
    // X is u1 on device a1; u2 signs in on the same device: a new customer for u2, a1 stays with X
    const r = resolved(run([u2, a1], [customer('x', T0, [u1, a1])]));
    expect(r).toMatchObject({ kind: 'new', survivorId: 'new', absorbed: [], link: [u2] });
    expect(reasons(r)).toEqual([[a1.key, 'IDENTIFIER_LIMIT_EXCEEDED']]);
    expect(r.rejected[0]!.detail).toContain('user_id limit 1');
  });

  it("drops only an identifier taking part: a second email goes, the call's own new anonymous id stays", () => {
    const rules: IdentityRules = { ...DEFAULT_IDENTITY_RULES, types: { ...DEFAULT_IDENTITY_RULES.types, email: { limit: 1, priority: 80 } } };
    const r = resolved(run([u1, e2, a2], [customer('x', T0, [u1, e1])], rules));
    expect(r).toMatchObject({ kind: 'attach', survivorId: 'x', link: [a2] });
    expect(reasons(r)).toEqual([[e2.key, 'IDENTIFIER_LIMIT_EXCEEDED']]);
  });

  it('drops a tie to a customer holding the type over its limit, not an identifier of another customer', () => {
    // x holds u1, y holds u2 and nothing ties z to a user id: the merge breaks user_id's limit through a1 or a2 only
    const r = resolved(run([a3, a1, a2], [customer('x', T0, [u1, a1]), customer('y', T0 + 1, [u2, a2]), customer('z', T0 + 2, [a3])]));
    expect(r.rejected.map((x) => x.identifier.key)).not.toContain(a3.key);
    expect(r).toMatchObject({ kind: 'merge', absorbed: ['z'] });
  });

  it('refuses to merge two customers with different user ids', () => {
    const r = resolved(run([e1, a1], [customer('x', T0, [u1, e1]), customer('y', T0 + 1, [u2, a1])]));
    expect(r.kind).not.toBe('merge');
    expect(r.rejected.map((x) => x.reason)).toContain('IDENTIFIER_LIMIT_EXCEEDED');
  });

  it('counts only identifiers first seen within the window of a windowed limit', () => {
    const rules: IdentityRules = {
      ...DEFAULT_IDENTITY_RULES,
      types: { ...DEFAULT_IDENTITY_RULES.types, email: { limit: 1, windowMs: 30 * DAY, priority: 80 } },
    };
    const old = customer('x', T0, [a1, e1], [], NOW - 60 * DAY);
    expect(resolved(run([a1, e2], [old], rules))).toMatchObject({ kind: 'attach', survivorId: 'x', link: [e2], rejected: [] });

    const recent = customer('x', T0, [a1, e1], [], NOW - 10 * DAY);
    const r = resolved(run([a1, e2], [recent], rules));
    expect(reasons(r)).toEqual([[a1.key, 'IDENTIFIER_LIMIT_EXCEEDED']]);
    expect(r).toMatchObject({ kind: 'new', link: [e2] });
  });
});

describe('resolve: identifiers refused before resolution (invalid values)', () => {
  const bad = keyed('email', 'em@aosn@ware.com');
  const refusal = { identifier: bad, reason: 'IDENTIFIER_INVALID' as const, detail: 'email is not a valid address', path: ['traits', 'email'] };

  it('records them as rejected and resolves on the rest', () => {
    const withBad = resolve({
      incoming: [a1],
      invalid: [refusal],
      owners: new Map([[a1.key, 'x']]),
      customers: new Map([['x', customer('x', T0, [a1])]]),
      rules: compileRules(DEFAULT_IDENTITY_RULES),
      observedAt: NOW,
      newCustomerId: 'new',
    });
    expect(withBad).toMatchObject({ kind: 'attach', survivorId: 'x', link: [], rejected: [refusal] });
  });

  it('is unresolvable when they were all the call had', () => {
    const r = resolve({
      incoming: [],
      invalid: [refusal],
      owners: new Map(),
      customers: new Map(),
      rules: compileRules(DEFAULT_IDENTITY_RULES),
      observedAt: NOW,
      newCustomerId: 'n',
    });
    expect(r).toEqual({ kind: 'unresolvable', rejected: [refusal] });
  });
});

describe('resolve: blocked values, guard and do-not-link', () => {
  it('rejects blocked values and never links them', () => {
    const unknown = keyed('user_id', 'unknown');
    const r = resolved(run([unknown, a1], [customer('x', T0, [a1]), customer('y', T0, [unknown])]));
    expect(r).toMatchObject({ kind: 'attach', survivorId: 'x', absorbed: [], link: [] });
    expect(reasons(r)).toEqual([[unknown.key, 'IDENTIFIER_BLOCKED']]);
  });

  it('is unresolvable when every identifier is blocked', () => {
    const r = run([keyed('email', 'test@test.com'), keyed('anonymous_id', '00000000-0000-0000-0000-000000000000')], []);
    expect(r.kind).toBe('unresolvable');
    expect(r.rejected.map((x) => x.reason)).toEqual(['IDENTIFIER_BLOCKED', 'IDENTIFIER_BLOCKED']);
  });

  it('stops merging when the cluster would outgrow the guard', () => {
    const rules: IdentityRules = { ...DEFAULT_IDENTITY_RULES, clusterGuard: { maxCustomers: 1, maxIdentifiers: 200 } };
    const r = resolved(run([a1, a2], [customer('x', T0, [a1]), customer('y', T0 + 1, [a2])], rules));
    expect(r.kind).not.toBe('merge');
    expect(r.absorbed).toEqual([]);
    expect(r.guardTripped).toBe(true);
    expect(r.rejected.map((x) => x.reason)).toEqual(['CLUSTER_GUARD_EXCEEDED']);
  });

  it('counts identifiers against the guard too', () => {
    const rules: IdentityRules = { ...DEFAULT_IDENTITY_RULES, clusterGuard: { maxCustomers: 50, maxIdentifiers: 3 } };
    const r = resolved(run([a1, a3], [customer('x', T0, [a1, e1]), customer('y', T0 + 1, [a3, e2])], rules));
    expect(r).toMatchObject({ absorbed: [], guardTripped: true });
  });

  it('does not merge customers marked do-not-link', () => {
    const split: CustomerEvent = { type: 'CustomerUnmerged', v: 1, data: { mergeId: 'm', absorbedId: 'y', reassignedEventIds: [], transferredKeys: [] } };
    const r = resolved(run([a1, a2], [customer('x', T0, [a1], [split]), customer('y', T0 + 1, [a2])]));
    expect(r.absorbed).toEqual([]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['DO_NOT_LINK']);
    expect(r.guardTripped).toBe(false);
  });
});

describe('resolve: identifiers to drop first', () => {
  const c1 = customer('c1', T0, [u1]);
  const c2 = customer('c2', T0 + DAY, [u2]);
  const owners = new Map([
    [u1.key, 'c1'],
    [u2.key, 'c2'],
  ]);
  const withDropFirst = (drop: KeyedIdentifier) =>
    resolved(
      resolve({
        incoming: [u1, u2],
        owners,
        customers: new Map([
          ['c1', c1],
          ['c2', c2],
        ]),
        rules: compileRules(DEFAULT_IDENTITY_RULES),
        observedAt: NOW,
        newCustomerId: 'new',
        dropFirst: new Set([drop.key]),
      }),
    );

  it('drops the one named on a violation, whichever way the keys sort', () => {
    // each of the two is dropped when named, so neither the key order nor the priority chose it
    expect(reasons(withDropFirst(u1))).toEqual([[u1.key, 'IDENTIFIER_LIMIT_EXCEEDED']]);
    expect(withDropFirst(u1)).toMatchObject({ kind: 'attach', survivorId: 'c2' });
    expect(reasons(withDropFirst(u2))).toEqual([[u2.key, 'IDENTIFIER_LIMIT_EXCEEDED']]);
    expect(withDropFirst(u2)).toMatchObject({ kind: 'attach', survivorId: 'c1' });
  });
});
