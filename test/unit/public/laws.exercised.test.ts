import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompiledRules } from '../../../src/domain/identity/rules.js';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../src/domain/identity/rules.js';
import { checkIdentityLaws, formatCoverage } from '../../../src/testing/identity-laws.js';

// The identity laws must not hold vacuously: under the default rules (limits of 5 and 20, a guard
// of 50 customers / 200 identifiers) a core that ignores a limit or the guard must fail them, and
// rules under which nothing can be checked (every value blocked) must say the laws were not
// exercised. The core is broken here the way a faulty release would be: its resolution step is
// handed rules without the limit or without the guard, the laws' own view of the rules unchanged.

const mutation = vi.hoisted(() => ({ current: undefined as 'limits' | 'guard' | undefined }));

vi.mock('../../../src/domain/identity/resolution.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/domain/identity/resolution.js')>();
  const broken = (rules: CompiledRules): CompiledRules =>
    mutation.current === 'limits'
      ? { ...rules, ruleFor: (type) => (['email', 'phone', 'device_id'].includes(type) ? { ...rules.ruleFor(type), limit: null } : rules.ruleFor(type)) }
      : mutation.current === 'guard'
        ? { ...rules, source: { ...rules.source, clusterGuard: { maxCustomers: 1_000_000, maxIdentifiers: 1_000_000 } } }
        : rules;
  return { ...original, resolve: (input: Parameters<typeof original.resolve>[0]) => original.resolve({ ...input, rules: broken(input.rules) }) };
});

afterEach(() => {
  mutation.current = undefined;
});

const TIMEOUT = 120_000;

describe('the identity laws are exercised under the default rules', () => {
  it(
    'a core ignoring the email, phone and device limits (5, 5, 20) fails the limits law',
    async () => {
      mutation.current = 'limits';
      const [result] = await checkIdentityLaws(DEFAULT_IDENTITY_RULES, { numRuns: 30, seed: 1, laws: ['limits'] });
      expect(result).toMatchObject({ name: 'limits', ok: false, exercised: true });
      expect(result!.problems!.join('\n')).toMatch(/holds \d+ (email|phone|device_id) \(limit (5|20)\)/);
    },
    TIMEOUT,
  );

  it(
    'a core ignoring the cluster guard (50 customers / 200 identifiers) fails the cluster-guard law',
    async () => {
      mutation.current = 'guard';
      const [result] = await checkIdentityLaws(DEFAULT_IDENTITY_RULES, { numRuns: 30, seed: 2, laws: ['cluster-guard'] });
      expect(result).toMatchObject({ name: 'cluster-guard', ok: false, exercised: true });
      expect(result!.problems!.join('\n')).toMatch(/a merge made customer .* a cluster of \d+ customers \/ \d+ identifiers \(guard 50 \/ 200\)/);
    },
    TIMEOUT,
  );

  it(
    'a sound core holds every law, each limited type over its limit and both sides of the guard reached in some history',
    async () => {
      const results = await checkIdentityLaws(DEFAULT_IDENTITY_RULES, { numRuns: 30, seed: 3 });
      expect(results.filter((r) => !r.ok).map((r) => r.problems)).toEqual([]);
      const limits = results.find((r) => r.name === 'limits')!;
      expect(limits.coverage.map((c) => c.what).sort()).toEqual(
        ['crm_id limit 1', 'device_id limit 20', 'email limit 5', 'phone limit 5', 'user_id limit 1'].sort(),
      );
      const guard = results.find((r) => r.name === 'cluster-guard')!;
      expect(guard.coverage.map((c) => c.what)).toEqual(['maxCustomers 50', 'maxIdentifiers 200']);
      for (const r of results) {
        expect(r.exercised).toBe(true);
        for (const c of r.coverage) {
          expect(c.of).toBe(30);
          expect(c.histories, `${r.name}: ${c.what}`).toBeGreaterThan(0);
        }
      }
    },
    TIMEOUT,
  );
});

describe('rules under which the laws can check nothing', () => {
  it(
    'blocking every value: every law fails as not exercised, no call having been accepted',
    async () => {
      const blockAll: IdentityRules = { ...DEFAULT_IDENTITY_RULES, blocked: { values: [], patterns: ['^.*$'] } };
      const results = await checkIdentityLaws(blockAll, { numRuns: 20, seed: 4 });
      expect(results).toHaveLength(5);
      for (const r of results) {
        expect(r, r.name).toMatchObject({ ok: false, exercised: false, numRuns: 0 });
        expect(r.problems!.join('\n')).toMatch(/not exercised: \d+ of \d+ histories had no call accepted/);
      }
    },
    TIMEOUT,
  );

  it(
    'a guard of one customer is reached by every merge attempt: the law is exercised, and holds',
    async () => {
      const one: IdentityRules = { ...DEFAULT_IDENTITY_RULES, clusterGuard: { maxCustomers: 1, maxIdentifiers: 200 } };
      const [result] = await checkIdentityLaws(one, { numRuns: 20, seed: 5, laws: ['cluster-guard'] });
      expect(result).toMatchObject({ ok: true, exercised: true });
      expect(result!.coverage.find((c) => c.what === 'maxCustomers 1')!.histories).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'a limit beyond what the histories bring is named as not checked; a guard out of reach on both sides is not checked, not failed for good',
    async () => {
      const huge: IdentityRules = {
        ...DEFAULT_IDENTITY_RULES,
        types: { ...DEFAULT_IDENTITY_RULES.types, device_id: { limit: 10_000, priority: 40 } },
        clusterGuard: { maxCustomers: 100_000, maxIdentifiers: 100_000 },
      };
      const [limits, guard] = await checkIdentityLaws(huge, { numRuns: 10, seed: 6, laws: ['limits', 'cluster-guard'] });
      expect(limits).toMatchObject({ name: 'limits', ok: true, exercised: true });
      expect(limits!.unreachable!.join('\n')).toMatch(/device_id limit 10000/);
      // a production-sized guard (500 customers / 5,000 identifiers) is beyond the histories' 150 / 2,000
      const production: IdentityRules = { ...DEFAULT_IDENTITY_RULES, clusterGuard: { maxCustomers: 500, maxIdentifiers: 5_000 } };
      const [sized] = await checkIdentityLaws(production, { numRuns: 10, seed: 6, laws: ['cluster-guard'] });
      for (const r of [guard!, sized!]) {
        expect(r).toMatchObject({ name: 'cluster-guard', ok: true, exercised: false, coverage: [] });
        expect(r.skipped).toMatch(/^every bound it is about is beyond what the histories reach: maxCustomers \d+ .*maxIdentifiers \d+/);
        expect(formatCoverage(r)).toBe(`not checked: ${r.skipped}`);
      }
    },
    TIMEOUT,
  );

  it('a law the rules give nothing to check is not checked, never a pass: no value blocked, no unique type, no limited type', async () => {
    const open: IdentityRules = {
      ...DEFAULT_IDENTITY_RULES,
      types: Object.fromEntries(Object.entries(DEFAULT_IDENTITY_RULES.types).map(([t, r]) => [t, { ...r, limit: null }])),
      customType: { ...DEFAULT_IDENTITY_RULES.customType, limit: null },
      blocked: { values: [], patterns: [] },
    };
    const results = await checkIdentityLaws(open, { numRuns: 10, seed: 12, laws: ['limits', 'blocked', 'unique-identifiers'] });
    expect(results.map((r) => [r.name, r.ok, r.exercised, r.skipped])).toEqual([
      ['limits', true, false, 'the rules limit no type'],
      ['blocked', true, false, 'the rules block no value'],
      ['unique-identifiers', true, false, 'no type has limit 1 without a window'],
    ]);
    for (const r of results) expect(formatCoverage(r)).toBe(`not checked: ${r.skipped}`);
  });

  it(
    'rules that block test values (fictional 555 phones, the .example domain) leave the limits reachable: a sound core holds them, each reached',
    async () => {
      const blocking: IdentityRules = {
        ...DEFAULT_IDENTITY_RULES,
        blocked: { ...DEFAULT_IDENTITY_RULES.blocked, patterns: [...DEFAULT_IDENTITY_RULES.blocked.patterns, '^\\+1\\d{3}555', '\\.example$'] },
      };
      const [limits] = await checkIdentityLaws(blocking, { numRuns: 20, seed: 7, laws: ['limits'] });
      expect(limits).toMatchObject({ name: 'limits', ok: true, exercised: true });
      for (const what of ['email limit 5', 'phone limit 5']) expect(limits!.coverage.find((c) => c.what === what)!.histories, what).toBeGreaterThan(0);
      // every value of a type blocked: its limit cannot be passed, and is named as not checked rather than failed
      const noPhones: IdentityRules = { ...DEFAULT_IDENTITY_RULES, blocked: { ...DEFAULT_IDENTITY_RULES.blocked, patterns: ['^\\+'] } };
      const [phoneless] = await checkIdentityLaws(noPhones, { numRuns: 10, seed: 8, laws: ['limits'] });
      expect(phoneless).toMatchObject({ name: 'limits', ok: true, exercised: true });
      expect(phoneless!.unreachable!.join('\n')).toMatch(/phone limit 5 \(the rules block the values/);
    },
    TIMEOUT,
  );

  it(
    'a guard whose maxIdentifiers stops a cluster before maxCustomers: maxCustomers is named as not checked, not failed',
    async () => {
      const tight: IdentityRules = { ...DEFAULT_IDENTITY_RULES, clusterGuard: { maxCustomers: 20, maxIdentifiers: 4 } };
      const [guard] = await checkIdentityLaws(tight, { numRuns: 20, seed: 9, laws: ['cluster-guard'] });
      expect(guard).toMatchObject({ name: 'cluster-guard', ok: true, exercised: true });
      expect(guard!.unreachable!.join('\n')).toMatch(/maxCustomers 20 .*maxIdentifiers exceed 21/);
    },
    TIMEOUT,
  );

  it(
    'a blocked pattern that matches only values longer than any the histories send gets none (it hung for ever)',
    async () => {
      const long: IdentityRules = { ...DEFAULT_IDENTITY_RULES, blocked: { values: ['unknown'], patterns: ['^[a-f0-9]{70,}$'] } };
      const [blocked] = await checkIdentityLaws(long, { numRuns: 10, seed: 10, laws: ['blocked'] });
      expect(blocked).toMatchObject({ name: 'blocked', ok: true, exercised: true });
    },
    TIMEOUT,
  );
});
