import { describe, expect, it } from 'vitest';
import { blockingKeys, candidatePairs } from '../../../src/domain/matching/blocking.js';
import { COMPARISONS, compareRecords } from '../../../src/domain/matching/comparisons.js';
import { estimateU, fitModel } from '../../../src/domain/matching/estimate.js';
import { type MatchRecord, normaliseRecord } from '../../../src/domain/matching/match-record.js';
import { MatchModel, scorePair, verdictOf } from '../../../src/domain/matching/match-model.js';

const levelOf = (field: keyof MatchRecord, a: string, b: string): string => {
  const i = COMPARISONS.findIndex((c) => c.field === field);
  const v = compareRecords(normaliseRecord({ [field]: a }), normaliseRecord({ [field]: b }))[i];
  return v === null || v === undefined ? 'missing' : COMPARISONS[i]!.levels[v]!;
};

describe('comparison levels', () => {
  it('names: exact, Jaro-Winkler bands, initials', () => {
    expect(levelOf('givenName', 'Zoë', 'zoe')).toBe('exact');
    expect(levelOf('givenName', 'jonathon', 'jonathan')).toBe('jaro_winkler_0.92');
    expect(levelOf('givenName', 'J.', 'james')).toBe('initial');
    expect(levelOf('surname', 'smith', 'jones')).toBe('else');
  });

  it('dates of birth: exact, swapped day and month, one digit off, same year', () => {
    expect(levelOf('dateOfBirth', '1980-04-07', '19800407')).toBe('exact');
    expect(levelOf('dateOfBirth', '1980-04-07', '1980-07-04')).toBe('day_month_swapped');
    expect(levelOf('dateOfBirth', '1980-04-07', '1980-04-08')).toBe('one_edit');
    expect(levelOf('dateOfBirth', '1980-04-07', '1980-11-23')).toBe('same_year');
  });

  it('emails: exact, a close local part on the same domain, the same local part elsewhere', () => {
    expect(levelOf('email', 'Ada@Example.com', 'ada@example.com')).toBe('exact');
    expect(levelOf('email', 'ada.l@example.com', 'ada.k@example.com')).toBe('local_part_close_same_domain');
    expect(levelOf('email', 'ada.l@example.com', 'ada.l@other.org')).toBe('same_local_part');
    expect(levelOf('email', 'ada.l@example.com', 'bob@example.com')).toBe('else');
    // a typo in the letters is close; another number is another account, however few edits apart
    expect(levelOf('email', 'ada.lovelace12@example.com', 'ada.lovelcae12@example.com')).toBe('local_part_close_same_domain');
    expect(levelOf('email', 'ada.lovelace12@example.com', 'ada.lovelace1234@example.com')).toBe('else');
    expect(levelOf('email', 'ada.lovelace12@example.com', 'ada.lovelace21@example.com')).toBe('else');
    expect(levelOf('email', 'ada.lovelace.42-36@example.com', 'ada.lovelace.42-3679@example.com')).toBe('else');
  });

  it('phones: exact or the same last six digits', () => {
    expect(levelOf('phone', '+44 20 7946 0958', '+442079460958')).toBe('exact');
    expect(levelOf('phone', '+442079460958', '02079460958')).toBe('same_last_6_digits');
  });

  it('a field missing on either side is not compared', () => {
    expect(levelOf('postcode', '2000', '')).toBe('missing');
  });
});

const model: MatchModel = MatchModel.parse({
  version: 'test-1',
  prior: 0.001,
  fields: {
    surname: [
      { level: 'exact', m: 0.9, u: 0.01 },
      { level: 'jaro_winkler_0.92', m: 0.05, u: 0.01 },
      { level: 'jaro_winkler_0.80', m: 0.03, u: 0.05 },
      { level: 'else', m: 0.02, u: 0.93 },
    ],
    dateOfBirth: [
      { level: 'exact', m: 0.9, u: 0.001 },
      { level: 'day_month_swapped', m: 0.02, u: 0.001 },
      { level: 'one_edit', m: 0.05, u: 0.01 },
      { level: 'same_year', m: 0.01, u: 0.02 },
      { level: 'else', m: 0.02, u: 0.968 },
    ],
  },
  reviewThreshold: 0.25,
  autoMergeThreshold: 0.98,
});

describe('scorePair', () => {
  it('adds log2(m/u) per field to the prior and reports each contribution', () => {
    const s = scorePair(model, { surname: 'smith', dateOfBirth: '1980-04-07' }, { surname: 'smith', dateOfBirth: '1980-07-04' });
    expect(s.fields).toEqual([
      { field: 'surname', level: 'exact', weight: Math.log2(90) },
      { field: 'dateOfBirth', level: 'day_month_swapped', weight: Math.log2(20) },
    ]);
    expect(s.weight).toBeCloseTo(Math.log2(0.001 / 0.999) + Math.log2(90) + Math.log2(20), 10);
    expect(s.probability).toBeCloseTo(1 / (1 + 2 ** -s.weight), 12);
    expect(s.modelVersion).toBe('test-1');
  });

  it('lists the fields both records hold that the model does not compare as not scored, in comparison order', () => {
    // the model compares surname and date of birth only
    const a = normaliseRecord({ surname: 'smith', givenName: 'Jonathan', dateOfBirth: '1980-05-12', postcode: 'SW1A 1AA', city: 'London' });
    const b = normaliseRecord({ surname: 'smith', givenName: 'Jonathon', dateOfBirth: '1980-12-05', postcode: 'SW1A1AA' });
    const s = scorePair(model, a, b);
    expect(s.fields.map((f) => f.field)).toEqual(['surname', 'dateOfBirth']);
    expect(s.notScored).toEqual(['givenName', 'postcode']);
    expect(scorePair(model, b, a).notScored).toEqual(['givenName', 'postcode']);
    // a field one side lacks is missing, not unscored; nothing to list, no key
    expect('notScored' in scorePair(model, { surname: 'smith', city: 'london' }, { surname: 'smith' })).toBe(false);
  });

  it('maps probabilities to verdicts by the two thresholds', () => {
    // prior -9.96; exact surname +6.49; exact date +9.81 (p 0.988); a date one digit off +2.32 (p 0.31)
    const same = scorePair(model, { surname: 'smith', dateOfBirth: '1980-04-07' }, { surname: 'smith', dateOfBirth: '1980-04-07' });
    const weak = scorePair(model, { surname: 'smith', dateOfBirth: '1980-04-07' }, { surname: 'smith', dateOfBirth: '1980-04-08' });
    const none = scorePair(model, { surname: 'smith', dateOfBirth: '1980-04-07' }, { surname: 'jones', dateOfBirth: '1962-01-30' });
    expect([verdictOf(model, same), verdictOf(model, weak), verdictOf(model, none)]).toEqual(['auto_merge', 'review', 'none']);
  });

  it('refuses a model whose auto-merge threshold is below its review threshold, naming the field', () => {
    const r = MatchModel.safeParse({ ...model, autoMergeThreshold: 0.2 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['autoMergeThreshold']);
  });
});

describe('blocking and fitting', () => {
  const people: MatchRecord[] = [
    { givenName: 'ada', surname: 'lovelace', dateOfBirth: '1815-12-10', postcode: 'w1' },
    { givenName: 'ada', surname: 'lovelase', dateOfBirth: '1815-12-10', postcode: 'w1' },
    { givenName: 'alan', surname: 'turing', dateOfBirth: '1912-06-23', postcode: 'nw1' },
    { givenName: 'alan', surname: 'turing', dateOfBirth: '1912-06-32', postcode: 'nw1' },
    { givenName: 'grace', surname: 'hopper', dateOfBirth: '1906-12-09', postcode: 'ny' },
  ];

  it('pairs records sharing a blocking key, each pair once, and never an unrelated one', () => {
    expect(blockingKeys(people[0]!)).toContain('surname_year:lovelace|1815');
    expect(candidatePairs(people)).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('fits the same model from the same data and seed, and a different u from another seed when it samples', () => {
    // 5 records make 10 distinct pairs: 6 random pairs are a sample of them
    const fitWith = (seed: number, randomPairs = 6) =>
      fitModel({
        version: 'v',
        records: people,
        candidates: candidatePairs(people),
        seed,
        randomPairs,
        iterations: 5,
        reviewThreshold: 0.9,
        autoMergeThreshold: 0.99,
      });
    expect(fitWith(1)).toEqual(fitWith(1));
    expect(fitWith(1)).not.toEqual(fitWith(2));
    expect(Object.keys(fitWith(1).fields)).toEqual(['givenName', 'surname', 'dateOfBirth', 'postcode']);
    // asked for at least as many pairs as there are, it counts every pair once: no seed matters
    expect(fitWith(1, 10)).toEqual(fitWith(2, 10));
  });

  it('takes u from every pair once when the records make no more pairs than asked for', () => {
    const givenName = COMPARISONS.filter((c) => c.field === 'givenName');
    // pairs: (ada, ada) exact, (ada, bob) twice, else; the levels in between never occur
    const [u] = estimateU([{ givenName: 'ada' }, { givenName: 'ada' }, { givenName: 'bob' }], givenName, { seed: 7, pairs: 300 });
    const levels = givenName[0]!.levels;
    // each level's share of the 3 pairs, each pair counted 100 times (as a sample of 300 would on
    // average), smoothed by 1e-3 per level
    const share = (pairs: number) => (pairs * 100 + 1e-3) / (300 + 1e-3 * levels.length);
    expect(u![0]).toBeCloseTo(share(1), 12);
    expect(u![levels.indexOf('else')]).toBeCloseTo(share(2), 12);
    for (const x of u!.slice(1, -1)) expect(x).toBeCloseTo(share(0), 12);
  });
});
