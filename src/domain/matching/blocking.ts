import type { MatchRecord } from './match-record.js';

/**
 * Blocking keys: two records become candidates when they share a key, so scoring never compares all
 * pairs. Several keys per record, each tolerating errors the others cannot (a typo in the surname, a
 * wrong date of birth, a changed email).
 */
/** The blocking key listing every record with this email local part (the part before the '@'). */
export const emailLocalKey = (r: MatchRecord): string | undefined => {
  const local = r.email?.split('@')[0];
  return local ? `email_local:${local}` : undefined;
};
/** The blocking key listing every record whose phone ends in these six digits. */
export const phoneLast6Key = (r: MatchRecord): string | undefined => (r.phone && r.phone.length >= 6 ? `phone_last_6:${r.phone.slice(-6)}` : undefined);

export const blockingKeys = (r: MatchRecord): readonly string[] => {
  const keys: string[] = [];
  const year = r.dateOfBirth?.slice(0, 4);
  const add = (rule: string, ...parts: (string | undefined)[]) => parts.every((p) => p) && keys.push(`${rule}:${parts.join('|')}`);
  add('surname_year', r.surname, year);
  add('given_surname', r.givenName, r.surname);
  add('dob', r.dateOfBirth);
  add('postcode_initial', r.postcode, r.surname?.[0]);
  // the local part alone survives a changed domain; domain and a long prefix survive a typo at the end
  const local = emailLocalKey(r);
  if (local) keys.push(local);
  add('email_domain_prefix', r.email?.split('@')[1], r.email?.slice(0, 8));
  const last6 = phoneLast6Key(r);
  if (last6) keys.push(last6);
  add('national_id', r.nationalId);
  return [...new Set(keys)];
};

/**
 * Candidate pairs (i < j, each once) from shared blocking keys. A block larger than `maxBlock` is
 * skipped: a key that many records share (a placeholder value) tells nothing.
 */
export const candidatePairs = (records: readonly MatchRecord[], maxBlock = 200): readonly (readonly [number, number])[] => {
  const blocks = new Map<string, number[]>();
  records.forEach((r, i) => {
    for (const k of blockingKeys(r)) (blocks.get(k) ?? blocks.set(k, []).get(k)!).push(i);
  });
  const seen = new Set<number>();
  const pairs: (readonly [number, number])[] = [];
  for (const ids of blocks.values()) {
    if (ids.length < 2 || ids.length > maxBlock) continue;
    for (let a = 0; a < ids.length; a++)
      for (let b = a + 1; b < ids.length; b++) {
        const code = ids[a]! * records.length + ids[b]!;
        if (!seen.has(code)) seen.add(code), pairs.push([ids[a]!, ids[b]!]);
      }
  }
  return pairs;
};
