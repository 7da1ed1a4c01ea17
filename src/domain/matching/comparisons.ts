import type { MatchField, MatchRecord } from './match-record.js';
import { jaroWinkler, withinEdits } from './similarity.js';

/**
 * One field's comparison: ordered levels, strongest agreement first and 'else' last. `level` answers
 * the index of the first level two present, normalised values reach. Every level test is symmetric.
 */
export type Comparison = {
  readonly field: MatchField;
  readonly levels: readonly string[];
  readonly level: (a: string, b: string) => number;
};

// Every pair a fit or a book scores runs through these tests (tens of thousands per rebuild), so
// they compare characters in place rather than slice the strings they compare; each says what the
// slice-based spelling in its comment says (test/unit/domain/matching.comparisons.test.ts).

const ladder =
  (tests: readonly ((a: string, b: string) => boolean)[]) =>
  (a: string, b: string): number => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(a, b)) return i;
    return tests.length;
  };
const exact = (a: string, b: string) => a === b;
const jw = (min: number) => (a: string, b: string) => jaroWinkler(a, b) >= min;
const edits = (max: number) => (a: string, b: string) => withinEdits(a, b, max);

/** the n characters of a from ai equal the n of b from bi (both in range) */
const sameChars = (a: string, ai: number, b: string, bi: number, n: number): boolean => {
  for (let k = 0; k < n; k++) if (a.charCodeAt(ai + k) !== b.charCodeAt(bi + k)) return false;
  return true;
};
/** a.slice(af, at) === b.slice(bf, bt), for bounds at or above 0 */
const sameSlice = (a: string, af: number, at: number, b: string, bf: number, bt: number): boolean => {
  const as = Math.min(af, a.length);
  const bs = Math.min(bf, b.length);
  const n = Math.max(0, Math.min(at, a.length) - as);
  return n === Math.max(0, Math.min(bt, b.length) - bs) && sameChars(a, as, b, bs, n);
};

const initial = (a: string, b: string) => (a.length === 1 || b.length === 1) && a[0] === b[0];
/** a.slice(0, 4) === b.slice(0, 4) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7) */
const dayMonthSwapped = (a: string, b: string) => sameSlice(a, 0, 4, b, 0, 4) && sameSlice(a, 5, 7, b, 8, 10) && sameSlice(a, 8, 10, b, 5, 7);
/** a.slice(0, 4) === b.slice(0, 4) */
const sameYear = (a: string, b: string) => sameSlice(a, 0, 4, b, 0, 4);
/** An email's parts split at its last '@' as `[e.slice(0, at), e.slice(at + 1)]` splits them: where the local part ends, where the domain starts. */
const localEnd = (e: string): number => {
  const at = e.lastIndexOf('@');
  // slice(0, -1): without an '@', the local part is all but the last character and the domain the whole
  return at === -1 ? Math.max(0, e.length - 1) : at;
};
const domainStart = (e: string): number => e.lastIndexOf('@') + 1;
const sameDomain = (a: string, b: string): boolean => {
  const da = domainStart(a);
  const db = domainStart(b);
  return a.length - da === b.length - db && sameChars(a, da, b, db, a.length - da);
};
const isDigit = (code: number): boolean => code >= 48 && code <= 57;
/** a.slice(0, an).replace(/\D/g, '') === b.slice(0, bn).replace(/\D/g, ''): the same digits, in the same order */
const sameDigits = (a: string, an: number, b: string, bn: number): boolean => {
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < an && !isDigit(a.charCodeAt(i))) i++;
    while (j < bn && !isDigit(b.charCodeAt(j))) j++;
    if (i === an || j === bn) return i === an && j === bn;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
    i++;
    j++;
  }
};
// a typo in the letters; the digits must be the same: a number of its own (john.smith12 against
// john.smith1234 or john.smith21, a suffix that tells accounts apart) is another account, however
// few edits apart
const closeLocalSameDomain = (a: string, b: string) => {
  if (!sameDomain(a, b)) return false;
  const na = localEnd(a);
  const nb = localEnd(b);
  return sameDigits(a, na, b, nb) && withinEdits(a.slice(0, na), b.slice(0, nb), 2);
};
/** the local parts (before the last '@') are the same */
const sameLocal = (a: string, b: string) => {
  const n = localEnd(a);
  return n === localEnd(b) && sameChars(a, 0, b, 0, n);
};
/** a.slice(-6) === b.slice(-6), both at least 6 long */
const sameLastDigits = (a: string, b: string) => a.length >= 6 && b.length >= 6 && sameChars(a, a.length - 6, b, b.length - 6, 6);

// the similarity is computed once for both bands
const nameLevels = (field: MatchField, withInitial: boolean): Comparison => ({
  field,
  levels: ['exact', 'jaro_winkler_0.92', 'jaro_winkler_0.80', ...(withInitial ? ['initial'] : []), 'else'],
  level: (a, b) => {
    if (a === b) return 0;
    const similarity = jaroWinkler(a, b);
    if (similarity >= 0.92) return 1;
    if (similarity >= 0.8) return 2;
    return withInitial && initial(a, b) ? 3 : withInitial ? 4 : 3;
  },
});

/** The comparisons a model scores, in a fixed order. */
export const COMPARISONS: readonly Comparison[] = [
  nameLevels('givenName', true),
  nameLevels('surname', false),
  {
    field: 'dateOfBirth',
    levels: ['exact', 'day_month_swapped', 'one_edit', 'same_year', 'else'],
    level: ladder([exact, dayMonthSwapped, edits(1), sameYear]),
  },
  { field: 'email', levels: ['exact', 'local_part_close_same_domain', 'same_local_part', 'else'], level: ladder([exact, closeLocalSameDomain, sameLocal]) },
  { field: 'phone', levels: ['exact', 'same_last_6_digits', 'else'], level: ladder([exact, sameLastDigits]) },
  { field: 'street', levels: ['exact', 'jaro_winkler_0.90', 'else'], level: ladder([exact, jw(0.9)]) },
  { field: 'postcode', levels: ['exact', 'one_edit', 'else'], level: ladder([exact, edits(1)]) },
  { field: 'city', levels: ['exact', 'jaro_winkler_0.90', 'else'], level: ladder([exact, jw(0.9)]) },
  { field: 'nationalId', levels: ['exact', 'one_edit', 'else'], level: ladder([exact, edits(1)]) },
];

/** A pair's comparison vector: per comparison, the level index, or null when a side lacks the field. */
export type ComparisonVector = readonly (number | null)[];

export const compareRecords = (a: MatchRecord, b: MatchRecord, comparisons: readonly Comparison[] = COMPARISONS): ComparisonVector => {
  const v: (number | null)[] = [];
  for (let i = 0; i < comparisons.length; i++) {
    const c = comparisons[i]!;
    const x = a[c.field];
    const y = b[c.field];
    v.push(x === undefined || y === undefined ? null : c.level(x, y));
  }
  return v;
};
