import { describe, expect, it } from 'vitest';
import { emptyBook, evolveBook, type MatchChange, suggestionsFor } from '../../../src/domain/matching/match-book.js';
import { MatchModel } from '../../../src/domain/matching/match-model.js';

const level = (level: string, m: number, u: number) => ({ level, m, u });
const model = MatchModel.parse({
  version: 'book-1',
  prior: 0.001,
  fields: {
    givenName: [
      level('exact', 0.9, 0.01),
      level('jaro_winkler_0.92', 0.05, 0.01),
      level('jaro_winkler_0.80', 0.02, 0.05),
      level('initial', 0.01, 0.01),
      level('else', 0.02, 0.92),
    ],
    surname: [level('exact', 0.9, 0.01), level('jaro_winkler_0.92', 0.05, 0.01), level('jaro_winkler_0.80', 0.03, 0.05), level('else', 0.02, 0.93)],
    dateOfBirth: [
      level('exact', 0.9, 0.001),
      level('day_month_swapped', 0.02, 0.001),
      level('one_edit', 0.05, 0.01),
      level('same_year', 0.01, 0.02),
      level('else', 0.02, 0.968),
    ],
  },
  reviewThreshold: 0.9,
  autoMergeThreshold: 0.9999,
});
const seen = (customerId: string, givenName: string, surname: string, dateOfBirth: string): MatchChange => ({
  type: 'RecordChanged',
  customerId,
  record: { givenName, surname, dateOfBirth },
});
const run = (changes: readonly MatchChange[]) => changes.reduce((b, c) => evolveBook(model, b, c), emptyBook);

describe('the match book', () => {
  it('suggests a look-alike found through the blocking index, with each field weight and the model version', () => {
    const book = run([seen('a', 'ada', 'lovelace', '1815-12-10'), seen('b', 'ada', 'lovelase', '1815-12-10'), seen('c', 'alan', 'turing', '1912-06-23')]);
    const [s, ...others] = suggestionsFor(book, 'a');
    expect(others).toEqual([]);
    expect(s?.customerIds).toEqual(['a', 'b']);
    expect(s?.score.modelVersion).toBe('book-1');
    expect(s?.score.fields.map((f) => [f.field, f.level])).toEqual([
      ['givenName', 'exact'],
      ['surname', 'jaro_winkler_0.92'],
      ['dateOfBirth', 'exact'],
    ]);
    // prior -9.96, exact given name +6.49, close surname +2.32, exact date +9.81: p 0.9975
    expect(s?.verdict).toBe('review');
    expect(suggestionsFor(book, 'c')).toEqual([]);
  });

  it('never suggests a rejected pair again, even after both records change', () => {
    const book = run([
      seen('a', 'ada', 'lovelace', '1815-12-10'),
      seen('b', 'ada', 'lovelace', '1815-12-10'),
      { type: 'SuggestionRejected', customerIds: ['b', 'a'] },
      seen('a', 'ada', 'lovelace', '1815-12-10'),
      seen('b', 'adah', 'lovelace', '1815-12-10'),
    ]);
    expect(suggestionsFor(book, 'a')).toEqual([]);
  });

  it('drops a merged-away customer from the index and its suggestions', () => {
    const book = run([seen('a', 'ada', 'lovelace', '1815-12-10'), seen('b', 'ada', 'lovelace', '1815-12-10'), { type: 'CustomerRemoved', customerId: 'b' }]);
    expect(suggestionsFor(book, 'a')).toEqual([]);
    expect(Object.values(book.blocks).flat()).toEqual(expect.not.arrayContaining(['b']));
    expect(Object.keys(book.records)).toEqual(['a']);
  });
});
