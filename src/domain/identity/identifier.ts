import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/core';
import { z } from 'zod';
import { DomainError } from '../shared/errors.js';
import { phoneMetadata } from './phone-metadata.js';

export const KNOWN_IDENTIFIER_TYPES = ['user_id', 'anonymous_id', 'email', 'phone', 'device_id', 'crm_id'] as const;
export type KnownIdentifierType = (typeof KNOWN_IDENTIFIER_TYPES)[number];

/** Known types plus custom ones (Segment context.externalIds types), always lower snake case. */
export const IdentifierType = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'identifier type must be lower snake case, 1-40 characters');
export type IdentifierType = string;

/** An identifier after normalization; `value` is personal data and is only ever stored encrypted. */
export type Identifier = { readonly type: IdentifierType; readonly value: string };

/** An identifier with its claim key: HMAC(tenant secret, type + normalized value), computed outside the domain. */
export type KeyedIdentifier = Identifier & { readonly key: string };

export type NormalizeOptions = { readonly defaultRegion: CountryCode };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_VALUE_LENGTH = 320;

export const normalizeIdentifierType = (raw: string): string =>
  raw
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
    .replace(/^userid$/, 'user_id');

/** Normalizes a raw identifier or throws IDENTIFIER_INVALID naming `path`. */
export const normalizeIdentifier = (type: string, raw: string, options: NormalizeOptions, path: readonly (string | number)[] = []): Identifier => {
  const idType = normalizeIdentifierType(type);
  if (!IdentifierType.safeParse(idType).success) {
    throw new DomainError('IDENTIFIER_INVALID', `identifier type "${type}" is not lower snake case`, path);
  }
  const trimmed = raw.trim();
  if (trimmed.length > MAX_VALUE_LENGTH) {
    throw new DomainError('IDENTIFIER_INVALID', `${idType} is longer than ${MAX_VALUE_LENGTH} characters`, path);
  }
  switch (idType) {
    case 'email': {
      const email = trimmed.toLowerCase();
      if (email !== '' && !EMAIL.test(email)) {
        throw new DomainError('IDENTIFIER_INVALID', 'email is not a valid address', path);
      }
      return { type: idType, value: email };
    }
    case 'phone': {
      if (trimmed === '') return { type: idType, value: '' };
      const phone = parsePhoneNumberFromString(trimmed, options.defaultRegion, phoneMetadata());
      if (!phone?.isValid()) {
        throw new DomainError('IDENTIFIER_INVALID', `phone is not a valid number (default region ${options.defaultRegion})`, path);
      }
      return { type: idType, value: phone.number };
    }
    default:
      return { type: idType, value: trimmed };
  }
};

export const identifierLabel = (id: { readonly type: string; readonly key: string }): string => `${id.type}:${id.key.slice(0, 12)}`;

/** ISO 3166-1 alpha-2 region used for phone numbers written without a country code. */
export type PhoneRegion = CountryCode;
