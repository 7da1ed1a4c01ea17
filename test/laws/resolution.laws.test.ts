import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { CustomerState } from '../../src/domain/customer/customer.state.js';
import type { KeyedIdentifier } from '../../src/domain/identity/identifier.js';
import { resolve, type ResolutionInput } from '../../src/domain/identity/resolution.js';
import { compileRules, DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../src/domain/identity/rules.js';
import { keyed, linked, registered, stateOf, T0 } from '../support/decider-spec.js';
import { HOUR, MINUTE } from './arbitraries.js';
import { RUNS } from './support.js';

// docs/architecture.md write path, step 3: when a limit would be broken, resolution demotes only an
// identifier taking part in the violation (one of the type over its limit, or one that brings in a
// customer holding that type), never one that plays no part, such as the call's own new anonymous
// id. Pure: generated customers and calls go straight into `resolve`.

const LIMITED = ['user_id', 'email', 'phone', 'device_id'] as const;
const POOL: readonly KeyedIdentifier[] = [
  ...['u1', 'u2', 'u3'].map((v) => keyed('user_id', v)),
  ...['e1', 'e2', 'e3', 'e4'].map((v) => keyed('email', v)),
  ...['p1', 'p2', 'p3'].map((v) => keyed('phone', v)),
  ...['d1', 'd2', 'd3'].map((v) => keyed('device_id', v)),
  ...['a1', 'a2', 'a3', 'a4'].map((v) => keyed('anonymous_id', v)),
];
/** the call's own anonymous id, seen for the first time: it has no limit and no owner */
const FRESH = keyed('anonymous_id', 'fresh');
const NOW = T0 + 10 * HOUR;

const arbRule = fc.record(
  {
    limit: fc.integer({ min: 1, max: 2 }),
    priority: fc.integer({ min: 0, max: 100 }),
    windowMs: fc.constantFrom(HOUR, 3 * HOUR),
  },
  { requiredKeys: ['limit', 'priority'] },
);

const arbRules: fc.Arbitrary<IdentityRules> = fc
  .record({
    limited: fc.tuple(arbRule, arbRule, arbRule, arbRule),
    // any priority, higher than every limited type's included: demotion must not depend on it
    anonymousPriority: fc.integer({ min: 0, max: 120 }),
  })
  .map(({ limited, anonymousPriority }) => ({
    ...DEFAULT_IDENTITY_RULES,
    types: {
      ...Object.fromEntries(LIMITED.map((t, i) => [t, limited[i]!])),
      anonymous_id: { limit: null, priority: anonymousPriority },
    },
  }));

type Case = { readonly input: ResolutionInput; readonly states: readonly CustomerState[] };

const arbCase: fc.Arbitrary<Case> = fc
  .record({
    rules: arbRules,
    // the customer (0..2) holding each pool identifier, or nobody (3); claims are unique
    owner: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: POOL.length, maxLength: POOL.length }),
    linkedMinutesAgo: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: POOL.length, maxLength: POOL.length }),
    firstSeen: fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 5 }), fc.nat({ max: 5 })),
    incoming: fc.subarray([...POOL.keys()], { minLength: 1, maxLength: 5 }),
    freshAt: fc.nat({ max: 5 }),
  })
  .map(({ rules, owner, linkedMinutesAgo, firstSeen, incoming, freshAt }) => {
    const states = [0, 1, 2].map((c) =>
      stateOf([
        registered(`c${c}`, T0 + firstSeen[c]! * MINUTE),
        ...POOL.flatMap((id, i) => (owner[i] === c ? [linked(id, NOW - linkedMinutesAgo[i]! * MINUTE)] : [])),
      ]),
    );
    const owners = new Map(POOL.flatMap((id, i) => (owner[i]! < 3 ? [[id.key, `c${owner[i]}`] as const] : [])));
    const calls = incoming.map((i) => POOL[i]!);
    calls.splice(Math.min(freshAt, calls.length), 0, FRESH);
    return {
      states,
      input: {
        incoming: calls,
        owners,
        customers: new Map(states.map((s) => [s.id, s])),
        rules: compileRules(rules),
        observedAt: NOW,
        newCustomerId: 'new',
      },
    };
  });

const limitRejections = (c: Case) => {
  const r = resolve(c.input);
  return { r, dropped: r.rejected.filter((x) => x.reason === 'IDENTIFIER_LIMIT_EXCEEDED') };
};

describe('limits demote only identifiers taking part in the violation', () => {
  test.prop([arbCase], { numRuns: RUNS })("the call's own new anonymous id is never dropped for a limit; the call joins a customer under it", (c) => {
    const { r, dropped } = limitRejections(c);
    fc.pre(dropped.length > 0);
    expect(r.rejected.map((x) => x.identifier.key)).not.toContain(FRESH.key);
    expect(r.kind).not.toBe('unresolvable');
    expect(r.kind !== 'unresolvable' && r.link).toContainEqual(FRESH);
  });

  test.prop([arbCase], { numRuns: RUNS })('a dropped identifier is of the type over its limit, or brings in a customer that holds that type', (c) => {
    const { dropped } = limitRejections(c);
    fc.pre(dropped.length > 0);
    for (const d of dropped) {
      const type = /^(\w+) limit /.exec(d.detail)?.[1];
      expect(type, d.detail).toBeDefined();
      const owner = c.input.owners.get(d.identifier.key);
      const holder = c.states.find((s) => s.id === owner);
      const takesPart = owner === undefined ? d.identifier.type === type : [...holder!.identifiers.values()].some((i) => i.type === type);
      expect(takesPart, `${d.identifier.key} dropped for "${d.detail}"`).toBe(true);
    }
  });
});
