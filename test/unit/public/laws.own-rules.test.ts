import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRules, DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../src/domain/identity/rules.js';
import { arbHistory, arbLimitCampaign, identifiersOf, toSegment } from '../../../src/testing/arbitraries.js';
import { checkIdentityLaws } from '../../../src/testing/identity-laws.js';

// The identity laws run against a caller's own rules: the histories carry values of the rules' own
// identifier types, their blocked values and values their blocked patterns match, not only the
// built-in pools (which know nothing of a `loyalty_id` or a `^noreply@` pattern).

const OWN: IdentityRules = {
  ...DEFAULT_IDENTITY_RULES,
  types: { ...DEFAULT_IDENTITY_RULES.types, loyalty_id: { limit: 1, priority: 95 } },
  blocked: { values: [...DEFAULT_IDENTITY_RULES.blocked.values, 'guest-0000'], patterns: [...DEFAULT_IDENTITY_RULES.blocked.patterns, '^noreply@'] },
};

describe('histories for a caller’s own rules', () => {
  it('carry the rules’ own types, blocked values and pattern matches, sent as context.externalIds', () => {
    const rules = compileRules(OWN);
    const calls = fc.sample(arbHistory({ rules: OWN, maxCalls: 10 }), { numRuns: 300, seed: 42 }).flat();
    const ids = calls.flatMap((c) => identifiersOf(c));
    expect(ids.some((i) => i.type === 'loyalty_id' && !i.blocked)).toBe(true);
    expect(ids.some((i) => i.type === 'crm_id')).toBe(true); // a built-in type of the rules the pools leave out
    expect(ids.some((i) => i.blocked && i.value === 'guest-0000')).toBe(true);
    expect(ids.some((i) => i.blocked && i.value.startsWith('noreply@'))).toBe(true);
    // what the generator calls blocked, the rules block; what it calls usable, they do not
    for (const x of calls.flatMap((c) => c.extra ?? [])) expect(rules.isBlocked(x), JSON.stringify(x)).toBe(x.blocked);
    const carrier = calls.find((c) => c.extra?.length)!;
    expect((toSegment(carrier).context as { externalIds: unknown[] }).externalIds).toEqual(carrier.extra!.map((x) => ({ id: x.spelled, type: x.type })));
  });

  it('without rules, histories are the pools alone', () => {
    expect(
      fc
        .sample(arbHistory({ maxCalls: 10 }), { numRuns: 100, seed: 42 })
        .flat()
        .some((c) => c.extra !== undefined),
    ).toBe(false);
  });
});

describe('the pressure histories a caller’s limits get', () => {
  it('never send more values of a limited type in one call than its limit, anonymous ids included (the anchor is of another type)', () => {
    const oneAnon: IdentityRules = { ...DEFAULT_IDENTITY_RULES, types: { ...DEFAULT_IDENTITY_RULES.types, anonymous_id: { limit: 1, priority: 10 } } };
    const calls = fc.sample(arbLimitCampaign(oneAnon), { numRuns: 20, seed: 3 }).flat();
    const anonCampaign = calls.filter((c) => c.userId?.v === 'law-anchor-anonymous_id');
    expect(anonCampaign.length).toBeGreaterThan(1);
    for (const c of calls) {
      const held = identifiersOf(c);
      for (const [type, rule] of Object.entries(oneAnon.types))
        if (rule.limit !== null) expect(held.filter((i) => i.type === type).length, JSON.stringify(toSegment(c))).toBeLessThanOrEqual(rule.limit);
    }
  });

  it('under anonymous_id limit 1, the limits law holds and its campaign does not break the unique-identifiers law itself', async () => {
    const oneAnon: IdentityRules = {
      ...DEFAULT_IDENTITY_RULES,
      types: { ...DEFAULT_IDENTITY_RULES.types, anonymous_id: { limit: 1, priority: 10 } },
    };
    const [limits] = await checkIdentityLaws(oneAnon, { numRuns: 30, seed: 4, laws: ['limits'] });
    expect(limits).toMatchObject({ ok: true, exercised: true });
    expect(limits!.coverage.find((c) => c.what === 'anonymous_id limit 1')!.histories).toBeGreaterThan(0);
    // the campaign alone, without random calls: nothing of the generator's own making is blamed on the rules
    const campaignOnly = fc.sample(arbLimitCampaign(oneAnon), { numRuns: 1, seed: 5 })[0]!.map((c, seq) => ({ ...c, seq, messageId: `m-${seq}` }));
    const anon = campaignOnly.filter((c) => c.userId?.v === 'law-anchor-anonymous_id');
    expect(anon.every((c) => identifiersOf(c).filter((i) => i.type === 'anonymous_id').length === 1)).toBe(true);
  });
});

describe('the identity laws against a caller’s own rules', () => {
  it('hold for sound rules with an own type, blocked value and pattern', async () => {
    const results = await checkIdentityLaws(OWN, { numRuns: 40, seed: 7 });
    expect(results.filter((r) => !r.ok).map((r) => r.problems)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(['limits', 'blocked', 'cluster-guard', 'unique-identifiers', 'idempotence']);
  });

  it('find the contradiction in an own type: loyalty ids limited to one per customer, yet outranked by anonymous ids', async () => {
    const contradictory = { ...OWN, types: { ...OWN.types, loyalty_id: { limit: 1, priority: 5 } } };
    const [result] = await checkIdentityLaws(contradictory, { numRuns: 300, seed: 11, laws: ['unique-identifiers'] });
    expect(result).toMatchObject({ name: 'unique-identifiers', ok: false });
    expect(result!.problems!.join('\n')).toMatch(/carries loyalty_id "loyalty_id-\d" \(limit 1\) but was recorded on customer/);
  });
});
