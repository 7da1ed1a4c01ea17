import { type MatchRecord, normaliseRecord } from '../../src/domain/matching/match-record.js';
import { seededRandom } from '../../src/domain/matching/random.js';
import type { Labelled } from './linkage.js';

// Synthetic people with corrupted duplicates, for sizes the FEBRL files do not reach and for the
// fields they lack (email, phone). Corrupted the way real records are: typos, transpositions,
// missing fields, nicknames, swapped day and month, changed emails. Seeded: the same seed gives the
// same people.

const GIVEN = [
  'william',
  'robert',
  'elizabeth',
  'margaret',
  'james',
  'katherine',
  'richard',
  'thomas',
  'jennifer',
  'michael',
  'susan',
  'daniel',
  'olivia',
  'charlotte',
  'amelia',
  'jack',
  'noah',
  'isla',
  'harper',
  'lucas',
  'mia',
  'ethan',
  'zoe',
  'samuel',
  'grace',
  'henry',
  'chloe',
  'oscar',
  'ruby',
  'leo',
  'alexander',
  'victoria',
  'patrick',
  'nicholas',
  'rebecca',
  'benjamin',
  'joshua',
  'hannah',
  'matthew',
  'emily',
];
const NICKNAMES: Readonly<Record<string, string>> = {
  william: 'bill',
  robert: 'bob',
  elizabeth: 'liz',
  margaret: 'maggie',
  james: 'jim',
  katherine: 'kate',
  richard: 'dick',
  thomas: 'tom',
  jennifer: 'jen',
  michael: 'mike',
  daniel: 'dan',
  alexander: 'alex',
  victoria: 'vicky',
  patrick: 'pat',
  nicholas: 'nick',
  rebecca: 'becky',
  benjamin: 'ben',
  joshua: 'josh',
  matthew: 'matt',
  samuel: 'sam',
};
const SYLLABLES = [
  'mac',
  'ander',
  'son',
  'ber',
  'ton',
  'well',
  'ham',
  'ley',
  'ford',
  'ing',
  'kow',
  'ski',
  'ro',
  'sa',
  'li',
  'van',
  'der',
  'berg',
  'o',
  'neil',
  'ch',
  'en',
  'wat',
  'kins',
  'har',
  'ris',
  'mor',
  'gan',
  'ste',
  'phens',
];
const STREETS = [
  'high',
  'church',
  'station',
  'park',
  'victoria',
  'green',
  'manor',
  'kings',
  'queens',
  'mill',
  'school',
  'north',
  'south',
  'west',
  'east',
  'york',
  'albert',
  'george',
];
const KINDS = ['street', 'road', 'avenue', 'lane', 'close', 'way', 'crescent'];
const CITIES = [
  'ashford',
  'bristol',
  'cardiff',
  'durham',
  'exeter',
  'falkirk',
  'glasgow',
  'harrogate',
  'ipswich',
  'kendal',
  'leeds',
  'margate',
  'norwich',
  'oxford',
  'perth',
  'reading',
  'salisbury',
  'truro',
  'wells',
  'york',
];
const DOMAINS = ['mail.example', 'post.example', 'inbox.example', 'web.example'];

const person = (r: () => number) => {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const given = pick(GIVEN);
  const surname = Array.from({ length: int(2, 3) }, () => pick(SYLLABLES)).join('');
  const dob = `${int(1935, 2005)}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`;
  return {
    givenName: given,
    surname,
    dateOfBirth: dob,
    email: `${given}.${surname}${int(0, 99)}@${pick(DOMAINS)}`,
    phone: `07${String(int(0, 999_999_999)).padStart(9, '0')}`,
    street: `${int(1, 250)} ${pick(STREETS)} ${pick(KINDS)}`,
    postcode: `${int(10, 99)}${int(0, 9)}${String.fromCharCode(97 + int(0, 25))}`,
    city: pick(CITIES),
  } satisfies Required<Omit<MatchRecord, 'nationalId'>>;
};

const typo = (s: string, r: () => number): string => {
  if (s.length < 2) return s;
  const i = Math.floor(r() * (s.length - 1));
  const c = String.fromCharCode(97 + Math.floor(r() * 26));
  switch (Math.floor(r() * 4)) {
    case 0:
      return s.slice(0, i) + c + s.slice(i + 1);
    case 1:
      return s.slice(0, i) + c + s.slice(i);
    case 2:
      return s.slice(0, i) + s.slice(i + 1);
    default:
      return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
  }
};

type Raw = ReturnType<typeof person>;
const corrupt = (p: Raw, r: () => number): MatchRecord => {
  const d: Record<string, string | undefined> = { ...p };
  const fields = Object.keys(p) as (keyof Raw)[];
  // a sparse source (a newsletter sign-up, a store receipt) holds only a few of the fields
  if (r() < 0.3) for (const f of fields) if (r() < 0.5) d[f] = undefined;
  for (let n = 1 + Math.floor(r() * 4); n > 0; n--) {
    const f = fields[Math.floor(r() * fields.length)]!;
    const v = d[f];
    if (v === undefined) continue;
    const roll = r();
    if (roll < 0.2) d[f] = undefined;
    else if (f === 'givenName' && NICKNAMES[v] && roll < 0.6) d[f] = NICKNAMES[v];
    else if (f === 'dateOfBirth' && roll < 0.6 && Number(v.slice(8)) <= 12) d[f] = `${v.slice(0, 4)}-${v.slice(8)}-${v.slice(5, 7)}`;
    else if (f === 'email' && roll < 0.6) d[f] = `${v.split('@')[0]}@${DOMAINS[Math.floor(r() * DOMAINS.length)]}`;
    else if (f === 'phone' && roll < 0.6) d[f] = `+44 ${v.slice(1, 5)} ${v.slice(5)}`;
    else d[f] = typo(v, r);
  }
  return normaliseRecord(d as MatchRecord);
};

/** `people` originals, each followed by 0 to `maxDuplicates` corrupted copies (about half get one). */
export const generatePeople = (opts: { seed: number; people: number; maxDuplicates?: number }): readonly Labelled[] => {
  const r = seededRandom(opts.seed);
  const out: Labelled[] = [];
  for (let i = 0; i < opts.people; i++) {
    const p = person(r);
    const entity = `p-${opts.seed}-${i}`;
    out.push({ entity, record: normaliseRecord(p) });
    const dups = r() < 0.5 ? 0 : 1 + Math.floor(r() * (opts.maxDuplicates ?? 3));
    for (let k = 0; k < dups; k++) out.push({ entity, record: corrupt(p, r) });
  }
  return out;
};
