import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/core';
import { z } from 'zod';
import { DomainError } from '../shared/errors.js';
import { phoneMetadata } from './phone-metadata.js';

export const KNOWN_IDENTIFIER_TYPES = ['user_id', 'anonymous_id', 'email', 'phone', 'device_id', 'crm_id'] as const;
export type KnownIdentifierType = (typeof KNOWN_IDENTIFIER_TYPES)[number];

/** Known types plus custom ones (Segment context.externalIds types), always lower snake case. */
const IDENTIFIER_TYPE = /^[a-z][a-z0-9_]{0,39}$/;
export const IdentifierType = z.string().regex(IDENTIFIER_TYPE, 'identifier type must be lower snake case, 1-40 characters');
/** Whether `type` is a type name as calls' types are normalized to (lower snake case, 1-40 characters). */
export const isIdentifierType = (type: string): boolean => IDENTIFIER_TYPE.test(type);
export type IdentifierType = string;

/** An identifier after normalization; `value` is personal data and is only ever stored encrypted. */
export type Identifier = { readonly type: IdentifierType; readonly value: string };

/** An identifier with its claim key: HMAC(tenant secret, type + normalized value), computed outside the domain. */
export type KeyedIdentifier = Identifier & { readonly key: string };

export type NormalizeOptions = {
  readonly defaultRegion: CountryCode;
  /**
   * also take an email the checks below refuse but earlier builds linked (a `mailto:` or angle
   * bracket wrapper, a character no unquoted address holds, a domain ending in a dot), spelled as
   * they keyed it: for finding keys already stored (lookups, erasure's scan of the quarantine),
   * never for linking
   */
  readonly storedEmails?: boolean | undefined;
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** characters no unquoted address holds (RFC 5322 specials, controls); quoted local parts are not taken */
const EMAIL_LOCAL_REFUSED = /["(),:;<>[\]\\\p{Cc}]/u;
/** dot-separated labels of letters, marks, digits and hyphens (an IDN's labels as typed, or punycode) */
const EMAIL_DOMAIN = /^[\p{L}\p{M}\p{N}-]+(?:\.[\p{L}\p{M}\p{N}-]+)+$/u;
/** the same for the usual all-ASCII domain, tested first: a Unicode property class costs more */
const EMAIL_DOMAIN_ASCII = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/;

/** Why an email (folded and lowercased, with one @) is not an address, or undefined. */
const emailProblem = (email: string): string | undefined => {
  if (email.startsWith('mailto:')) return 'email is not a valid address: send the address alone, without "mailto:"';
  if (email.startsWith('<') || email.endsWith('>')) return 'email is not a valid address: send the address alone, without angle brackets';
  const at = email.lastIndexOf('@');
  const domain = email.slice(at + 1);
  if (domain.endsWith('.')) return 'email is not a valid address: its domain ends with a dot';
  if (EMAIL_LOCAL_REFUSED.test(email.slice(0, at)) || !(EMAIL_DOMAIN_ASCII.test(domain) || EMAIL_DOMAIN.test(domain)))
    return 'email is not a valid address: it holds a character no address holds (quotes, brackets, parentheses, commas, colons, semicolons, backslashes)';
  return undefined;
};
/** Longest identifier value, in characters (after trimming and Unicode normalization). */
export const MAX_VALUE_LENGTH = 320;
const DIGIT = /\p{Nd}/gu;
const MIN_PHONE_DIGITS = 3;

/**
 * Version of the rules below; claim keys are computed from their output. 1: trim, email lowercase,
 * phone E.164. 2: also Unicode - emails and phones NFKC with zero-width characters removed (a
 * fullwidth or zero-width-spliced address is the same address), every other type NFC only (user
 * ids are opaque), and text that is not well-formed UTF-16 (a lone surrogate) refused. Keys made
 * under an older version are re-keyed by the claim re-key migration. Refusing more (emails with a
 * wrapper, junk characters or a trailing dot, since version 2) changes no key of a value still
 * taken, so it is no new version: what was linked before stays linked, and new calls carrying it
 * are refused (IDENTIFIER_INVALID). An IDN domain and its punycode spelling are two keys.
 */
export const NORMALIZATION_VERSION = 2;

// zero width space, non-joiner, joiner, word joiner, BOM / zero width no-break space, soft hyphen, Mongolian vowel separator
const ZERO_WIDTH = /\u200B|\u200C|\u200D|\u2060|\uFEFF|\u00AD|\u180E/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What a person would type as the same email or phone: compatibility forms folded, invisible characters gone. */
const folded = (raw: string): string => raw.normalize('NFKC').replace(ZERO_WIDTH, '').trim();

export const normalizeIdentifierType = (raw: string): string =>
  raw
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
    .replace(/^userid$/, 'user_id');

/** A raw identifier normalized, or why it cannot be one. */
export type NormalizedIdentifier = { readonly ok: true; readonly id: Identifier } | { readonly ok: false; readonly message: string };

const refused = (message: string): NormalizedIdentifier => ({ ok: false, message });

/**
 * Normalizes a raw identifier without throwing: for callers that try many strings as many types
 * (the quarantine's match keys, erasure's scan of quarantined bodies), where most tries fail and
 * an exception per try would cost more than the rest of the work.
 */
export const tryNormalizeIdentifier = (type: string, raw: string, options: NormalizeOptions): NormalizedIdentifier => {
  const idType = normalizeIdentifierType(type);
  if (!IDENTIFIER_TYPE.test(idType)) return refused(`identifier type "${type}" is not lower snake case`);
  if (LONE_SURROGATE.test(raw)) return refused(`${idType} holds a broken character (a lone UTF-16 surrogate)`);
  const trimmed = idType === 'email' || idType === 'phone' ? folded(raw) : raw.normalize('NFC').trim();
  if (trimmed.length > MAX_VALUE_LENGTH) return refused(`${idType} is longer than ${MAX_VALUE_LENGTH} characters`);
  switch (idType) {
    case 'email': {
      const email = trimmed.toLowerCase();
      if (email !== '' && !EMAIL.test(email)) return refused('email is not a valid address');
      const problem = email === '' || options.storedEmails ? undefined : emailProblem(email);
      if (problem) return refused(problem);
      return { ok: true, id: { type: idType, value: email } };
    }
    case 'phone': {
      if (trimmed === '') return { ok: true, id: { type: idType, value: '' } };
      // no country's numbers are shorter than this: text without them is refused before the
      // parser's search (most of what the quarantine tries is not a phone number at all)
      if ((trimmed.match(DIGIT) ?? []).length < MIN_PHONE_DIGITS) return refused(`phone is not a valid number (default region ${options.defaultRegion})`);
      const phone = parsePhoneNumberFromString(trimmed, options.defaultRegion, phoneMetadata());
      if (!phone?.isValid()) return refused(`phone is not a valid number (default region ${options.defaultRegion})`);
      // the line, without its extension (`ext. 12`, `;ext=5`, `x7`): every desk of an office line is
      // one identifier, as keyed since version 1 (keeping it would change every such key); the
      // phone trait keeps the number as sent
      return { ok: true, id: { type: idType, value: phone.number } };
    }
    default:
      return { ok: true, id: { type: idType, value: trimmed } };
  }
};

/** Normalizes a raw identifier or throws IDENTIFIER_INVALID naming `path`. */
export const normalizeIdentifier = (type: string, raw: string, options: NormalizeOptions, path: readonly (string | number)[] = []): Identifier => {
  const r = tryNormalizeIdentifier(type, raw, options);
  if (!r.ok) throw new DomainError('IDENTIFIER_INVALID', r.message, path);
  return r.id;
};

export const identifierLabel = (id: { readonly type: string; readonly key: string }): string => `${id.type}:${id.key.slice(0, 12)}`;

/** ISO 3166-1 alpha-2 region used for phone numbers written without a country code. */
export type PhoneRegion = CountryCode;
