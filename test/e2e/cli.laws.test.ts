import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_RULES } from '../../src/domain/identity/rules.js';
import { runCliInProcess } from '../support/cli-runner.js';

// `c360 laws --rules file`: the identity laws against a user's rules file, from the command line.

let dir: string;
const file = async (name: string, content: unknown) => {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const laws = (args: string[]) =>
  runCliInProcess(['laws', ...args], {
    tenant: 'laws',
    open: async () => {
      throw new Error('c360 laws opens no store');
    },
  });

/** user ids limited to one per customer, yet outranked by anonymous ids: a shared device moves one user's calls onto another */
const CONTRADICTORY = { ...DEFAULT_IDENTITY_RULES, types: { ...DEFAULT_IDENTITY_RULES.types, anonymous_id: { limit: null, priority: 200 } } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-laws-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('c360 laws', () => {
  it('passes sound rules that block none of the default placeholders: a user id "UNDEFINED" is then a user id like any other', async () => {
    const rules = await file('no-placeholders.json', { ...DEFAULT_IDENTITY_RULES, blocked: { values: ['guest'], patterns: [] } });
    // the seed of the false counterexample a user met (a call with userId "UNDEFINED" counted as "undefined")
    const r = await laws(['--rules', rules, '--runs', '200', '--seed', '690347512']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^ok +unique-identifiers:/m);
  });

  it('prints a law the rules give nothing to check as skipped with the reason, and exits 0 saying how many were not checked', async () => {
    const rules = await file('no-blocklist.json', { ...DEFAULT_IDENTITY_RULES, blocked: { values: [], patterns: [] } });
    const r = await laws(['--rules', rules, '--runs', '20', '--law', 'blocked', 'idempotence']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^skip +blocked: a value the rules block is never linked to a customer\n +not checked: the rules block no value$/m);
    expect(r.out).toMatch(/^ok +idempotence:/m);
    expect(r.out).toMatch(/no-blocklist\.json: every law checked holds \(1 not checked: nothing the histories can check under these rules\)/);
  });

  it('passes a sound rules file: every law holds, exit 0', async () => {
    const rules = await file('sound.json', { ...DEFAULT_IDENTITY_RULES, types: { ...DEFAULT_IDENTITY_RULES.types, email: { limit: 2, priority: 80 } } });
    const r = await laws(['--rules', rules, '--runs', '40']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/every law holds/);
    for (const law of ['limits', 'blocked', 'cluster-guard', 'unique-identifiers', 'idempotence']) expect(r.out).toMatch(new RegExp(`^ok +${law}:`, 'm'));
    // how often each law met what it is about, printed under it
    expect(r.out).toMatch(/email limit 2 reached in [1-9]\d*\/40 histories, phone limit 5 reached in [1-9]\d*\/40 histories/);
    expect(r.out).toMatch(/maxCustomers 50 reached in [1-9]\d*\/40 histories, maxIdentifiers 200 reached in [1-9]\d*\/40 histories/);
  });

  it('fails rules that block every value as not exercised (exit 1): no call is accepted, nothing is checked', async () => {
    const rules = await file('block-all.json', { ...DEFAULT_IDENTITY_RULES, blocked: { values: [], patterns: ['^.*$'] } });
    const r = await laws(['--rules', rules, '--runs', '10', '--law', 'limits', 'cluster-guard']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/^FAIL +limits \(not exercised\)$/m);
    expect(r.out).toMatch(/^FAIL +cluster-guard \(not exercised\)$/m);
    expect(r.out).toMatch(/law "limits" was not exercised: .*\n.*\n +not exercised: \d+ of \d+ histories had no call accepted/);
    expect(r.out).toMatch(/2 of 2 laws fail \(2 not exercised\)/);
    expect(r.out).not.toMatch(/reached in 0\/0 histories/); // no history was checked: no coverage to show
  });

  it('rejects a contradictory rules file with the seed and a counterexample, exit 1; --seed replays the same counterexample', async () => {
    const rules = await file('contradictory.json', CONTRADICTORY);
    const r = await laws(['--rules', rules, '--runs', '100', '--law', 'unique-identifiers', '--json']);
    expect(r.code, r.err).toBe(1);
    const report = r.json();
    expect(report.ok).toBe(false);
    const [failure] = report.results;
    expect(failure).toMatchObject({ name: 'unique-identifiers', ok: false, seed: expect.any(Number) });
    // both unique types of the rules are outranked: user ids, and crm ids (sent as context.externalIds),
    // from the pools or from the calls that take each limited type past its limit (user_id-law-1)
    expect(failure.problems.join('\n')).toMatch(
      /carries (user_id "(u-\d|user_id-law-\d+)"|crm_id "crm_id-(law-)?\d+") \(limit 1\) but was recorded on customer .* which does not hold it/,
    );
    // the counterexample is the calls themselves, as sent: at least two, one of them with a user or crm id
    expect(failure.counterexample.length).toBeGreaterThanOrEqual(2);
    type Sent = { call: { userId?: string; context?: { externalIds?: { type: string }[] } } };
    expect(
      failure.counterexample.some(
        (c: Sent) => c.call.userId !== undefined || c.call.context?.externalIds?.some((x) => x.type === 'crm_id' || x.type === 'user_id'),
      ),
    ).toBe(true);

    const again = await laws(['--rules', rules, '--runs', '100', '--law', 'unique-identifiers', '--seed', String(failure.seed)]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(new RegExp(`seed ${failure.seed}`));
    expect(again.out).toMatch(/counterexample \(the calls, in order\):/);
    for (const c of failure.counterexample) expect(again.out).toContain(JSON.stringify(c.call));
  });

  it('names the offending field of an invalid rules file (exit 2), and an unreadable or non-JSON file', async () => {
    const bad = await file('bad.json', { ...DEFAULT_IDENTITY_RULES, types: { email: { limit: 0, priority: 1 } } });
    const r = await laws(['--rules', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--rules: .*bad\.json: invalid identity rules: types\.email\.limit/);
    const notJson = await file('not.json', '{ nope');
    expect((await laws(['--rules', notJson])).err).toMatch(/is not JSON/);
    expect((await laws(['--rules', join(dir, 'missing.json')])).err).toMatch(/cannot read .*missing\.json \(ENOENT\)/);
    expect((await laws(['--rules', bad, '--law', 'nonsense'])).err).toMatch(/--law: unknown nonsense/);
  });

  it('refuses a pattern that backtracks without bound, an unknown key and a custom type that misspells a built-in one (exit 2, each named)', async () => {
    const redos = await file('redos.json', { ...DEFAULT_IDENTITY_RULES, blocked: { values: [], patterns: ['^[0-]+$', '^(a+)+$'] } });
    const r = await laws(['--rules', redos]);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err).toContain('blocked.patterns.1: pattern "^(a+)+$" is refused: it repeats a group that itself repeats or alternates');
    const { clusterGuard, ...rest } = DEFAULT_IDENTITY_RULES;
    const misspelt = await file('misspelt.json', { ...rest, clusterguard: clusterGuard });
    const m = await laws(['--rules', misspelt]);
    expect(m.code).toBe(2);
    expect(m.err).toContain('clusterguard: unknown field; did you mean clusterGuard?');
    const emial = await file('emial.json', { ...DEFAULT_IDENTITY_RULES, types: { ...DEFAULT_IDENTITY_RULES.types, emial: { limit: 1, priority: 5 } } });
    const e = await laws(['--rules', emial]);
    expect(e.code).toBe(2);
    expect(e.err).toContain('types.emial: custom type "emial" looks like a misspelling of the built-in type email');
  });
});
