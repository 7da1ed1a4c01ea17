import { describe, expect, it } from 'vitest';
import { getCountries, parsePhoneNumberFromString } from 'libphonenumber-js/core';
import { NORMALIZATION_VERSION, normalizeIdentifier, tryNormalizeIdentifier } from '../../../src/domain/identity/identifier.js';
import { phoneMetadata } from '../../../src/domain/identity/phone-metadata.js';
import { compileRules, DEFAULT_IDENTITY_RULES, IdentityRules } from '../../../src/domain/identity/rules.js';
import { DomainError } from '../../../src/domain/shared/errors.js';

const US = { defaultRegion: 'US' } as const;
const ZA = { defaultRegion: 'ZA' } as const;

const errorOf = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
};

describe('normalizeIdentifier', () => {
  it('trims and lowercases emails', () => {
    expect(normalizeIdentifier('email', '  Ada.Lovelace@Example.COM \n', US)).toEqual({ type: 'email', value: 'ada.lovelace@example.com' });
  });

  it('rejects an invalid email with IDENTIFIER_INVALID at the given path', () => {
    const e = errorOf(() => normalizeIdentifier('email', 'not-an-email', US, ['traits', 'email']));
    expect(e.code).toBe('IDENTIFIER_INVALID');
    expect(e.path).toEqual(['traits', 'email']);
  });

  it('refuses an email in a wrapper, with a trailing dot in its domain or with characters no address holds, saying which', () => {
    const problems: [string, RegExp][] = [
      ['mailto:zed.person@example.com', /without "mailto:"/],
      ['MAILTO:zed.person@example.com', /without "mailto:"/],
      ['<zed.person@example.com>', /without angle brackets/],
      ['Zed.Person@EXAMPLE.com.', /domain ends with a dot/],
      ['xss"><svg/onload=alert(3)>@evil.test', /character no address holds/],
      ['"zed,person"@example.com', /character no address holds/],
      ['zed,person@example.com', /character no address holds/],
      ['zed@exa_mple.com', /character no address holds/],
      ['zed@example..com', /character no address holds/],
      ['zed@[192.0.2.1].com', /character no address holds/],
    ];
    for (const [value, why] of problems) {
      const e = errorOf(() => normalizeIdentifier('email', value, US, ['traits', 'email']));
      expect(e.code, value).toBe('IDENTIFIER_INVALID');
      expect(e.message, value).toMatch(why);
      // the message never echoes the value (it is stored readable with the rejection)
      expect(e.message, value).not.toContain(value.toLowerCase());
    }
  });

  it('keeps the keys of every address it took before: plus tags, apostrophes, IDN domains and their punycode (two keys), digits', () => {
    for (const [value, key] of [
      ["O'Brien+news@Example.co.uk", "o'brien+news@example.co.uk"],
      ['zed.person@exämple.com', 'zed.person@exämple.com'],
      ['ZED.PERSON@xn--exmple-cua.com', 'zed.person@xn--exmple-cua.com'],
      ['user_1!#$%&*/=?^`{|}~-@mail-1.example.org', 'user_1!#$%&*/=?^`{|}~-@mail-1.example.org'],
      ['用户@例子.广告', '用户@例子.广告'],
    ]) {
      expect(normalizeIdentifier('email', value!, US).value).toBe(key);
    }
  });

  it('with storedEmails, takes an email earlier builds linked as they keyed it (to find a stored key, never to link)', () => {
    const stored = { ...US, storedEmails: true };
    expect(normalizeIdentifier('email', 'mailto:Zed@Example.com', stored).value).toBe('mailto:zed@example.com');
    expect(normalizeIdentifier('email', 'zed@example.com.', stored).value).toBe('zed@example.com.');
    expect(errorOf(() => normalizeIdentifier('email', 'not-an-email', stored)).code).toBe('IDENTIFIER_INVALID');
  });

  it('writes phone numbers as E.164, using the default region for national numbers', () => {
    expect(normalizeIdentifier('phone', '(415) 555-2671', US).value).toBe('+14155552671');
    expect(normalizeIdentifier('phone', '082 123 4567', ZA).value).toBe('+27821234567');
    // an international number keeps its own country whatever the default region
    expect(normalizeIdentifier('phone', '+27 82 123 4567', US).value).toBe('+27821234567');
  });

  it('rejects a phone number that is not valid in its region', () => {
    const e = errorOf(() => normalizeIdentifier('phone', '12345', US, ['context', 'traits', 'phone']));
    expect(e.code).toBe('IDENTIFIER_INVALID');
    expect(e.path).toEqual(['context', 'traits', 'phone']);
    expect(e.message).toContain('US');
  });

  it('refuses text with fewer than 3 digits before parsing it, which refuses nothing the parser would accept', () => {
    // the parser drops letters (no vanity numbers) and no region has a valid number of 1 or 2 digits
    for (const region of getCountries(phoneMetadata())) {
      for (let n = 0; n < 110; n++) {
        const digits = n < 10 ? String(n) : String(n - 10).padStart(2, '0');
        for (const text of [digits, `+${digits}`, `tel ${digits} ext`]) {
          expect(parsePhoneNumberFromString(text, region, phoneMetadata())?.isValid() ?? false, `${text} in ${region}`).toBe(false);
        }
      }
    }
    expect(tryNormalizeIdentifier('phone', '+1 800 FLOWERS', US)).toEqual({ ok: false, message: 'phone is not a valid number (default region US)' });
    expect(tryNormalizeIdentifier('phone', 'order 42', US).ok).toBe(false);
    // three digits and more still reach the parser: a valid number goes through
    expect(tryNormalizeIdentifier('phone', '(415) 555-2671', US)).toEqual({ ok: true, id: { type: 'phone', value: '+14155552671' } });
  });

  it('tryNormalizeIdentifier answers as normalizeIdentifier does, without throwing', () => {
    for (const [type, raw] of [
      ['email', 'Ada@Example.com'],
      ['email', 'nope'],
      ['phone', '415 555 2671'],
      ['phone', '12'],
      ['Bad Type!', 'x'],
      ['crm_id', ' C-1 '],
    ]) {
      const tried = tryNormalizeIdentifier(type!, raw!, US);
      let thrown: unknown;
      let value: unknown;
      try {
        value = normalizeIdentifier(type!, raw!, US);
      } catch (e) {
        thrown = e;
      }
      if (tried.ok) expect(value).toEqual(tried.id);
      else expect((thrown as DomainError).message).toBe(tried.message);
    }
  });

  it('normalizes custom identifier types to lower snake case and keeps their value as sent (trimmed)', () => {
    expect(normalizeIdentifier('Salesforce-ID', ' 0035g00000AbCdE ', US)).toEqual({ type: 'salesforce_id', value: '0035g00000AbCdE' });
    expect(normalizeIdentifier('Loyalty Card', 'LC-1', US).type).toBe('loyalty_card');
    expect(normalizeIdentifier('userId', 'u-1', US).type).toBe('user_id');
  });

  it('rejects a type that cannot be made lower snake case', () => {
    for (const bad of ['1st_party_id', 'crm.id', '', 'x'.repeat(41)]) {
      const e = errorOf(() => normalizeIdentifier(bad, 'v', US, ['context', 'externalIds', 0, 'type']));
      expect(e.code, bad).toBe('IDENTIFIER_INVALID');
      expect(e.path).toEqual(['context', 'externalIds', 0, 'type']);
    }
  });

  it('rejects values longer than 320 characters', () => {
    expect(errorOf(() => normalizeIdentifier('user_id', 'u'.repeat(321), US)).code).toBe('IDENTIFIER_INVALID');
  });
});

describe('normalizeIdentifier: Unicode (normalization version 2)', () => {
  it('folds fullwidth forms and removes zero-width characters in emails and phones', () => {
    expect(NORMALIZATION_VERSION).toBe(2);
    const ada = 'ada@example.com';
    for (const spelling of ['ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'ad\u200Ba@example.com', '\uFEFFAda@Exam\u200Dple.com\u2060', 'ada@ex\u00ADample.com']) {
      expect(normalizeIdentifier('email', spelling, US).value, JSON.stringify(spelling)).toBe(ada);
    }
    expect(normalizeIdentifier('phone', '＋１ ４１５ ５５５ ２６７１', US).value).toBe('+14155552671');
    expect(normalizeIdentifier('phone', '+1\u200B415\u200C555\u200D2671', US).value).toBe('+14155552671');
  });

  it('composes other types (NFC) but keeps them otherwise as sent: user ids are opaque', () => {
    expect(normalizeIdentifier('user_id', 'jose\u0301', US).value).toBe('jos\u00E9');
    expect(normalizeIdentifier('user_id', 'ｕ１', US).value).toBe('ｕ１');
    expect(normalizeIdentifier('user_id', 'u\u200B1', US).value).toBe('u\u200B1');
  });

  it('refuses a lone surrogate, in any type', () => {
    for (const [type, value] of [
      ['email', 'ada\uD800@example.com'],
      ['email', 'ada@example.com\uDC00'],
      ['user_id', 'u-\uDBFF'],
      ['anonymous_id', '\uDE00a'],
    ]) {
      expect(errorOf(() => normalizeIdentifier(type!, value!, US, ['x'])).code, `${type} ${JSON.stringify(value)}`).toBe('IDENTIFIER_INVALID');
    }
    // a well-formed pair is a character like any other
    expect(normalizeIdentifier('user_id', 'u-\uD83D\uDE00', US).value).toBe('u-😀');
  });
});

describe('default identity rules', () => {
  const rules = compileRules(DEFAULT_IDENTITY_RULES);

  it('limits user_id and crm_id to one, email and phone to five, device_id to twenty, anonymous_id not at all', () => {
    const limits = Object.fromEntries(['user_id', 'crm_id', 'email', 'phone', 'device_id', 'anonymous_id'].map((t) => [t, rules.ruleFor(t).limit]));
    expect(limits).toEqual({ user_id: 1, crm_id: 1, email: 5, phone: 5, device_id: 20, anonymous_id: null });
  });

  it('keeps user ids longest and drops anonymous ids first', () => {
    const p = (t: string) => rules.ruleFor(t).priority;
    expect(p('user_id')).toBeGreaterThan(p('crm_id'));
    expect(p('crm_id')).toBeGreaterThan(p('email'));
    expect(p('email')).toBeGreaterThan(p('phone'));
    expect(p('device_id')).toBeGreaterThan(p('anonymous_id'));
  });

  it('treats unknown types with the custom-type rule', () => {
    expect(rules.ruleFor('salesforce_id')).toEqual(DEFAULT_IDENTITY_RULES.customType);
  });

  it('blocks placeholder values, case-insensitively', () => {
    const blocked = ['', 'unknown', 'NULL', 'anonymous', '00000000-0000-0000-0000-000000000000', 'test@test.com'];
    for (const value of blocked) expect(rules.isBlocked({ type: 'anonymous_id', value }), JSON.stringify(value)).toBe(true);
    for (const value of ['anon-7f3a', 'ada@example.com', '+14155552671', '10000000-0000-0000-0000-000000000000']) {
      expect(rules.isBlocked({ type: 'email', value }), value).toBe(false);
    }
  });

  it('applies a custom blocked pattern as a case-insensitive regular expression', () => {
    const custom = compileRules({ ...DEFAULT_IDENTITY_RULES, blocked: { values: [], patterns: ['^qa-.*@example\\.com$'] } });
    expect(custom.isBlocked({ type: 'email', value: 'QA-bot@example.com' })).toBe(true);
    expect(custom.isBlocked({ type: 'email', value: 'ada@example.com' })).toBe(false);
  });

  it('refuses rules with a pattern that is not a valid regular expression', () => {
    const parsed = IdentityRules.safeParse({ ...DEFAULT_IDENTITY_RULES, blocked: { values: [], patterns: ['(unclosed'] } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['blocked', 'patterns', 0]);
  });
});
