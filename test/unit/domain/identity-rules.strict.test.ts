import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unsafePatternReason } from '../../../src/domain/identity/pattern-safety.js';
import { compileRules, DEFAULT_IDENTITY_RULES } from '../../../src/domain/identity/rules.js';
import { ConfigError, loadConfig } from '../../../src/infrastructure/config.js';
import { IdentityRulesError, parseIdentityRules } from '../../../src/public/embed.js';

// The identity rules file is strict: unknown keys, custom types that misspell a built-in one and
// blocked-value patterns that could backtrack without bound are refused by name when it is loaded.

const D = DEFAULT_IDENTITY_RULES;
const refusal = (rules: unknown): IdentityRulesError => {
  try {
    parseIdentityRules(rules);
  } catch (e) {
    if (e instanceof IdentityRulesError) return e;
    throw e;
  }
  throw new Error('the rules were accepted');
};

describe('identity rules: unknown keys', () => {
  it('names an unknown key at any level, with the known key it misspells', () => {
    const { clusterGuard, ...rest } = D;
    expect(refusal({ ...rest, clusterguard: clusterGuard }).message).toBe('invalid identity rules: clusterguard: unknown field; did you mean clusterGuard?');
    expect(refusal({ ...D, clusterGuard: { ...D.clusterGuard, maxCustomer: 3 } }).fields).toEqual(['clusterGuard.maxCustomer']);
    expect(refusal({ ...D, blocked: { ...D.blocked, pattern: [] } }).message).toContain('blocked.pattern: unknown field; did you mean patterns?');
    expect(refusal({ ...D, customType: { ...D.customType, windowMS: 5 } }).message).toContain('customType.windowMS: unknown field; did you mean windowMs?');
    expect(refusal({ ...D, types: { ...D.types, email: { limit: 5, priority: 80, prio: 1 } } }).fields).toEqual(['types.email.prio']);
    expect(refusal({ ...D, comment: 'x' }).message).toContain('comment: unknown field; the fields are version, types, customType, blocked, clusterGuard');
  });

  it('names every problem, not only the unknown key: the other fields are checked as well', () => {
    const { clusterGuard, ...rest } = D;
    const e = refusal({ ...rest, clusterguard: { maxCustomers: 20, maxIdentifiers: 200 }, types: { ...D.types, email: { limit: '3', priority: 80 } } });
    expect(e.fields).toEqual(['clusterguard', 'types.email.limit']);
    expect(e.message).toContain('clusterguard: unknown field; did you mean clusterGuard?');
    expect(e.message).toContain('types.email.limit: ');
    // a misspelt field is checked as the one it misspells (not reported missing besides)
    expect(refusal({ ...rest, clusterguard: { maxCustomers: 'x', maxIdentifiers: 200 } }).fields).toEqual(['clusterguard', 'clusterGuard.maxCustomers']);
    // within one entry too, and beside a refused type name
    const nested = refusal({ ...D, clusterGuard, types: { ...D.types, email: { limit: 0, priority: 80, prio: 1 }, 'Loyalty-ID': { limit: 1, priority: 95 } } });
    expect(nested.fields).toEqual(expect.arrayContaining(['types.email.prio', 'types.email.limit', 'types.Loyalty-ID']));
    expect(nested.fields).toHaveLength(3);
  });
});

describe('identity rules: type names', () => {
  it('refuses a type that is not lower snake case, custom or not, naming the type calls normalize it to: such a rule would never apply', () => {
    const withType = (name: string, entry: object) => ({ ...D, types: { ...D.types, [name]: entry } });
    for (const [name, normalized] of [
      ['Loyalty-ID', 'loyalty_id'],
      ['loyalty id', 'loyalty_id'],
      ['User-Id', 'user_id'],
      ['EMAIL', 'email'],
    ] as const) {
      for (const entry of [
        { limit: 1, priority: 95 },
        { limit: 1, priority: 95, custom: true },
      ]) {
        const e = refusal(withType(name, entry));
        expect(e.fields).toEqual([`types.${name}`]);
        expect(e.message).toContain(`types.${name}: type "${name}" is not lower snake case`);
        expect(e.message).toContain(`did you mean ${normalized}?`);
      }
    }
    // no name to suggest when normalizing does not make one
    const odd = refusal(withType('9-lives', { limit: 1, priority: 5 }));
    expect(odd.fields).toEqual(['types.9-lives']);
    expect(odd.message).not.toContain('did you mean');
    expect(compileRules(parseIdentityRules(withType('loyalty_id', { limit: 1, priority: 95 }))).ruleFor('loyalty_id').limit).toBe(1);
  });
});

describe('identity rules: custom types near a built-in one', () => {
  it('refuses a custom type that is a near-certain slip for a built-in type unless its entry says custom: true', () => {
    const withType = (name: string, entry: object) => ({ ...D, types: { ...D.types, [name]: entry } });
    for (const [name, builtIn] of [
      ['emial', 'email'],
      ['phones', 'phone'],
      ['userid', 'user_id'],
      ['crm_ids', 'crm_id'],
      ['devce_id', 'device_id'],
      ['emaill', 'email'],
    ] as const) {
      const e = refusal(withType(name, { limit: 1, priority: 5 }));
      expect(e.fields).toEqual([`types.${name}`]);
      expect(e.message).toContain(`custom type "${name}" looks like a misspelling of the built-in type ${builtIn}`);
      const meant = parseIdentityRules(withType(name, { limit: 1, priority: 5, custom: true }));
      expect(compileRules(meant).ruleFor(name)).toMatchObject({ limit: 1, priority: 5 });
    }
    // far from every built-in type, or a letter apart but plainly meant: custom without saying so
    for (const name of ['erp_id', 'cms_id', 'cdp_id', 'crm_uid', 'email2', 'phone2', 'user_uid', 'emal'])
      expect(compileRules(parseIdentityRules(withType(name, { limit: 2, priority: 60 }))).ruleFor(name).limit, name).toBe(2);
    expect(compileRules(parseIdentityRules(withType('loyalty_card', { limit: 2, priority: 60 }))).ruleFor('loyalty_card').limit).toBe(2);
    expect(refusal(withType('email', { limit: 1, priority: 5, custom: true })).message).toContain('types.email.custom: email is a built-in type');
  });
});

describe('identity rules: blocked-value patterns', () => {
  it('refuses patterns that can backtrack without bound, naming the pattern and why', () => {
    const e = refusal({ ...D, blocked: { values: [], patterns: ['^[0-]+$', '^(a+)+$'] } });
    expect(e.fields).toEqual(['blocked.patterns.1']);
    expect(e.message).toContain('pattern "^(a+)+$" is refused: it repeats a group that itself repeats or alternates');
    for (const p of ['(a|a)*$', '(?:ab|a)+', '^(a?){25}a{25}$', '(a*)*', '^(\\w+\\s?)+$', '(a+){2}'])
      expect(unsafePatternReason(p), p).toMatch(/nested quantifier/);
    for (const p of ['a+a+a+a+b', '.*.*.*x', 'x{2,}y*z+', '^a{1,100}b{1,100}c{1,100}$'])
      expect(unsafePatternReason(p), p).toMatch(/more than 2 items without bound or over a wide range/);
    expect(unsafePatternReason('(a)\\1')).toMatch(/backreference/);
    expect(unsafePatternReason('(?<n>a)\\k<n>')).toMatch(/backreference/);
    for (const p of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b']) expect(unsafePatternReason(p), p).toMatch(/lookaround/);
    expect(unsafePatternReason('a?a?a?a?a?a?aaaaaa')).toMatch(/more than 32 ways/);
    expect(unsafePatternReason('a'.repeat(257))).toMatch(/longer than 256/);
    expect(refusal({ ...D, blocked: { values: [], patterns: ['('] } }).message).toContain('blocked.patterns.0: "(" is not a valid regular expression');
  });

  it('keeps the patterns people write for placeholders', () => {
    for (const p of [
      ...D.blocked.patterns,
      '^test.*@example\\.com$',
      '^(unknown|none|null|n/a)$',
      '^\\d{4}-\\d{2}-\\d{2}$',
      '^(ab)+$',
      '[a+]+',
      '^x{3,}$',
      '^\\+?1?5{10}$',
      // two wide repeats: at most the value's length squared
      '^.*test.*$',
      '^\\S+@\\S+$',
      '^[a-z]+\\d+@test\\.com$',
      '[a-z]{2,64}',
      '^\\d+-\\d+$',
    ])
      expect(unsafePatternReason(p), p).toBeUndefined();
  });

  it('runs no pattern over a value longer than an identifier', () => {
    const rules = compileRules(parseIdentityRules({ ...D, blocked: { values: ['x'.repeat(400)], patterns: ['^x+$'] } }));
    expect(rules.isBlocked({ type: 'user_id', value: 'x'.repeat(320) })).toBe(true);
    expect(rules.isBlocked({ type: 'user_id', value: 'x'.repeat(321) })).toBe(false);
    // a listed value is still blocked whatever its length
    expect(rules.isBlocked({ type: 'user_id', value: 'x'.repeat(400) })).toBe(true);
  });
});

describe('the server refuses such a rules file at start-up', () => {
  it('is a ConfigError naming C360_IDENTITY_RULES_FILE and the key or pattern', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'c360-rules-'));
    try {
      const file = join(dir, 'rules.json');
      const { clusterGuard, ...rest } = D;
      await writeFile(file, JSON.stringify({ ...rest, clusterguard: clusterGuard }));
      expect(() => loadConfig({ C360_IDENTITY_RULES_FILE: file })).toThrow(
        new ConfigError('C360_IDENTITY_RULES_FILE: clusterguard: unknown field; did you mean clusterGuard?'),
      );
      await writeFile(file, JSON.stringify({ ...D, blocked: { values: [], patterns: ['^(a+)+$'] } }));
      expect(() => loadConfig({ C360_IDENTITY_RULES_FILE: file })).toThrow(
        /C360_IDENTITY_RULES_FILE: blocked\.patterns\.0: pattern "\^\(a\+\)\+\$" is refused/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('rules given as an object, without parsing', () => {
  it('are compiled only when their patterns are safe', () => {
    expect(() => compileRules({ ...D, blocked: { values: [], patterns: ['^(a+)+$'] } })).toThrow(
      /invalid identity rules: blocked\.patterns\.0: pattern "\^\(a\+\)\+\$" is refused/,
    );
    expect(compileRules(D).isBlocked({ type: 'device_id', value: '0000-0000' })).toBe(true);
  });
});
