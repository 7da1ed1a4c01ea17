import type { Customer360 } from '../projection/customer360.js';
import { type MatchRecord, normaliseRecord } from './match-record.js';

// What matching reads from a customer's 360 view: Segment's reserved traits (firstName, lastName,
// name, birthday, address.street/postalCode/city) and the customer's linked email and phone
// identifiers, never the raw email and phone traits. An identifier holds the value the exact rules
// normalised (NFKC, zero-width characters removed, lower-case email; E.164 phone without its
// extension), and only a value the identity rules took: a blocked placeholder (`000000`), an
// invalid number or a value refused for a limit or a do-not-link stays a trait and is no evidence.

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : typeof v === 'number' ? String(v) : undefined);
const obj = (v: unknown): Readonly<Record<string, unknown>> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

const identifierOf = (view: Customer360, type: string): string | undefined =>
  Object.values(view.identifiers)
    .filter((f) => f.type === type && f.value)
    .sort((a, b) => a.firstSeenAt - b.firstSeenAt)[0]?.value;

/** the traits a match record is read from: a trait update naming none of them leaves the record as it was */
export const MATCH_TRAITS: ReadonlySet<string> = new Set(['name', 'firstName', 'first_name', 'lastName', 'last_name', 'birthday', 'dateOfBirth', 'address']);
/** the identifier types a match record reads its email and phone from */
export const MATCH_IDENTIFIERS: ReadonlySet<string> = new Set(['email', 'phone']);

export const matchRecordOfView = (view: Customer360): MatchRecord => {
  const t = (name: string) => view.traits[name]?.value;
  const [first, ...rest] = (str(t('name')) ?? '').trim().split(/\s+/);
  const address = obj(t('address'));
  return normaliseRecord({
    givenName: str(t('firstName')) ?? str(t('first_name')) ?? (rest.length ? first : undefined),
    surname: str(t('lastName')) ?? str(t('last_name')) ?? (rest.length ? rest.at(-1) : undefined),
    dateOfBirth: str(t('birthday')) ?? str(t('dateOfBirth')),
    email: identifierOf(view, 'email'),
    phone: identifierOf(view, 'phone'),
    street: str(address.street),
    postcode: str(address.postalCode) ?? str(address.postal_code),
    city: str(address.city),
  });
};
