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

const ladder =
  (tests: readonly ((a: string, b: string) => boolean)[]) =>
  (a: string, b: string): number => {
    const i = tests.findIndex((t) => t(a, b));
    return i === -1 ? tests.length : i;
  };
const exact = (a: string, b: string) => a === b;
const jw = (min: number) => (a: string, b: string) => jaroWinkler(a, b) >= min;
const edits = (max: number) => (a: string, b: string) => withinEdits(a, b, max);

const initial = (a: string, b: string) => (a.length === 1 || b.length === 1) && a[0] === b[0];
const dayMonthSwapped = (a: string, b: string) => a.slice(0, 4) === b.slice(0, 4) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7);
const sameYear = (a: string, b: string) => a.slice(0, 4) === b.slice(0, 4);
const parts = (e: string): readonly [string, string] => {
  const at = e.lastIndexOf('@');
  return [e.slice(0, at), e.slice(at + 1)];
};
const digitsOf = (s: string) => s.replace(/\D/g, '');
// a typo in the letters; the digits must be the same: a number of its own (john.smith12 against
// john.smith1234 or john.smith21, a suffix that tells accounts apart) is another account, however
// few edits apart
const closeLocalSameDomain = (a: string, b: string) => {
  const [la, da] = parts(a);
  const [lb, db] = parts(b);
  return da === db && digitsOf(la) === digitsOf(lb) && withinEdits(la, lb, 2);
};
const sameLocal = (a: string, b: string) => parts(a)[0] === parts(b)[0];
const sameLastDigits = (a: string, b: string) => a.length >= 6 && b.length >= 6 && a.slice(-6) === b.slice(-6);

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

export const compareRecords = (a: MatchRecord, b: MatchRecord, comparisons: readonly Comparison[] = COMPARISONS): ComparisonVector =>
  comparisons.map((c) => {
    const x = a[c.field];
    const y = b[c.field];
    return x === undefined || y === undefined ? null : c.level(x, y);
  });
