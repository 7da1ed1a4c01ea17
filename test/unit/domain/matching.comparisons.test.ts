import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { blockingKeys, candidatePairs } from '../../../src/domain/matching/blocking.js';
import { COMPARISONS, type Comparison, type ComparisonVector, compareRecords } from '../../../src/domain/matching/comparisons.js';
import { estimateM, estimateU, fitModel, fitModelComparing } from '../../../src/domain/matching/estimate.js';
import { buildBook, pairKey, type Suggestion } from '../../../src/domain/matching/match-book.js';
import type { MatchRecord } from '../../../src/domain/matching/match-record.js';
import {
  DEFAULT_THRESHOLDS,
  MatchModel,
  modelComparisons,
  scorePair,
  scoreVector,
  verdictOf,
  weightOfVector,
} from '../../../src/domain/matching/match-model.js';
import { seededRandom } from '../../../src/domain/matching/random.js';
import { withinEdits } from '../../../src/domain/matching/similarity.js';

// The comparisons, the EM and the whole-book scoring are written for speed (characters compared in
// place, a flat table, each pair compared once): each must answer exactly what its plain spelling
// answers, which these properties hold it to, number for number.

const RUNS = Number(process.env.LAW_RUNS ?? 300);

// the plain spellings: slices and arrays
const parts = (e: string): readonly [string, string] => {
  const at = e.lastIndexOf('@');
  return [e.slice(0, at), e.slice(at + 1)];
};
const digitsOf = (s: string) => s.replace(/\D/g, '');
const plainLevel: Partial<Record<keyof MatchRecord, (a: string, b: string) => number>> = {
  dateOfBirth: (a, b) =>
    a === b
      ? 0
      : a.slice(0, 4) === b.slice(0, 4) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7)
        ? 1
        : withinEdits(a, b, 1)
          ? 2
          : a.slice(0, 4) === b.slice(0, 4)
            ? 3
            : 4,
  email: (a, b) => {
    if (a === b) return 0;
    const [la, da] = parts(a);
    const [lb, db] = parts(b);
    if (da === db && digitsOf(la) === digitsOf(lb) && withinEdits(la, lb, 2)) return 1;
    return la === lb ? 2 : 3;
  },
  phone: (a, b) => (a === b ? 0 : a.length >= 6 && b.length >= 6 && a.slice(-6) === b.slice(-6) ? 1 : 2),
};

/** estimateM as nested arrays over the vectors themselves */
const plainEstimateM = (
  vectors: readonly ComparisonVector[],
  comparisons: readonly Comparison[],
  u: readonly (readonly number[])[],
  iterations: number,
  initialPrior = 0.1,
) => {
  const frequencies = (counts: readonly number[][]) =>
    comparisons.map((c, i) => {
      const row = counts[i]!;
      const total = row.reduce((s, x) => s + x, 0);
      return c.levels.map((_, l) => (row[l]! + 1e-3) / (total + 1e-3 * c.levels.length));
    });
  let m: readonly (readonly number[])[] = comparisons.map((c) =>
    c.levels.map((_, l) => (l === 0 ? 0.8 : l === c.levels.length - 1 ? 0.05 : 0.15 / Math.max(1, c.levels.length - 2))),
  );
  let prior = initialPrior;
  for (let it = 0; it < iterations && vectors.length > 0; it++) {
    const counts = comparisons.map((c) => c.levels.map(() => 0));
    let matches = 0;
    const ratios = m.map((row, c) => row.map((x, l) => Math.log(x / u[c]![l]!)));
    const priorRatio = Math.log(prior / (1 - prior));
    for (const v of vectors) {
      let logRatio = priorRatio;
      for (let c = 0; c < v.length; c++) if (v[c] !== null) logRatio += ratios[c]![v[c]!]!;
      const p = 1 / (1 + Math.exp(-logRatio));
      matches += p;
      for (let c = 0; c < v.length; c++) if (v[c] !== null) counts[c]![v[c]!]! += p;
    }
    m = frequencies(counts);
    prior = Math.min(1 - 1e-9, Math.max(1e-9, matches / vectors.length));
  }
  return { m, prior };
};

/** buildBook as every block's pairs scored in turn (a pair several blocks share, once suggested, is skipped) */
const plainBook = (model: MatchModel, records: Readonly<Record<string, MatchRecord>>, decisions: Parameters<typeof buildBook>[2]) => {
  const rejected: Record<string, true> = {};
  const autoMergeUndone: Record<string, true> = {};
  for (const d of decisions) (d.type === 'SuggestionRejected' ? rejected : autoMergeUndone)[pairKey(...d.customerIds)] = true;
  const blocks: Record<string, string[]> = {};
  for (const id of Object.keys(records).sort()) for (const k of blockingKeys(records[id]!)) (blocks[k] ??= []).push(id);
  const suggestions: Record<string, Suggestion> = {};
  for (const members of Object.values(blocks)) {
    if (members.length < 2 || members.length > 200) continue;
    for (let i = 0; i < members.length; i++)
      for (let j = i + 1; j < members.length; j++) {
        const [a, b] = [members[i]!, members[j]!];
        const key = pairKey(a, b);
        if (key in suggestions || rejected[key]) continue;
        const score = scorePair(model, records[a]!, records[b]!);
        const verdict = verdictOf(model, score);
        if (verdict !== 'none')
          suggestions[key] = { customerIds: [a, b], score, verdict: verdict === 'auto_merge' && autoMergeUndone[key] ? 'review' : verdict };
      }
  }
  return { records: { ...records }, blocks, suggestions, rejected, autoMergeUndone };
};

// short strings over characters the tests look at: '@', digits, '-', letters
const arbText = fc.string({ unit: fc.constantFrom('a', 'b', '1', '2', '-', '@', '.'), maxLength: 12 });
const arbDate = fc.oneof(
  arbText,
  fc.tuple(fc.constantFrom('1980', '1981'), fc.constantFrom('04', '07'), fc.constantFrom('04', '07', '08')).map(([y, m, d]) => `${y}-${m}-${d}`),
);
const arbRecord: fc.Arbitrary<MatchRecord> = fc.record(
  {
    givenName: fc.constantFrom('ada', 'adah', 'a', 'alan'),
    surname: fc.constantFrom('lovelace', 'lovelase', 'turing'),
    dateOfBirth: arbDate,
    email: fc.oneof(arbText, fc.constantFrom('ada@x.org', 'ada1@x.org', 'adb@x.org', 'ada@y.org', 'ada')),
    phone: fc.oneof(arbText, fc.constantFrom('0412345678', '0512345678', '12345')),
    city: fc.constantFrom('london', 'londn', 'wilmslow'),
  },
  { requiredKeys: [] },
);

/** estimateU as first written: every pair compared afresh with compareRecords */
const plainEstimateU = (records: readonly MatchRecord[], comparisons: readonly Comparison[], opts: { seed: number; pairs: number }) => {
  const counts = comparisons.map((c) => c.levels.map(() => 0));
  const count = (a: MatchRecord, b: MatchRecord, times: number) => {
    const v = compareRecords(a, b, comparisons);
    for (let c = 0; c < v.length; c++) if (v[c] !== null) counts[c]![v[c]!]! += times;
  };
  const n = records.length;
  const distinct = (n * (n - 1)) / 2;
  if (distinct <= opts.pairs) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) count(records[i]!, records[j]!, opts.pairs / distinct);
  } else {
    const random = seededRandom(opts.seed);
    for (let k = 0; k < opts.pairs; k++) {
      const i = Math.floor(random() * n);
      const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
      count(records[i]!, records[j]!, 1);
    }
  }
  return comparisons.map((c, i) => {
    const row = counts[i]!;
    const total = row.reduce((s, x) => s + x, 0);
    return c.levels.map((_, l) => (row[l]! + 1e-3) / (total + 1e-3 * c.levels.length));
  });
};

// records whose values repeat (few names) beside ones that do not (any text: unicode, escapes, empty)
const arbRepeating: fc.Arbitrary<MatchRecord> = fc.record(
  {
    givenName: fc.oneof(fc.constantFrom('ada', 'adah', 'a', 'alan', 'ådå', ''), fc.string({ maxLength: 8 })),
    surname: fc.oneof(fc.constantFrom('lovelace', 'lovelase', 'turing', '\\"'), fc.string({ unit: 'grapheme', maxLength: 8 })),
    dateOfBirth: arbDate,
    email: fc.oneof(arbText, fc.constantFrom('ada@x.org', 'ada1@x.org', 'adb@x.org')),
    phone: fc.oneof(arbText, fc.constantFrom('0412345678', '0512345678')),
    street: fc.oneof(fc.constantFrom('12 st james square', '12 st james sq'), fc.string({ unit: 'binary', maxLength: 6 })),
    postcode: fc.constantFrom('2000', '2001', '3000'),
    city: fc.constantFrom('london', 'londn', 'wilmslow'),
    nationalId: fc.constantFrom('123456789', '123456780'),
  },
  { requiredKeys: [] },
);

describe('the matching comparisons, EM and book scoring, written for speed', () => {
  test.prop([fc.array(arbRepeating, { minLength: 0, maxLength: 90 }), fc.integer({ min: 1, max: 700 }), fc.nat()], { numRuns: RUNS })(
    'u and the candidate vectors, each level worked out once per pair of values, are the ones every pair compared afresh gives, to the last bit',
    (records, pairs, seed) => {
      const comparisons = COMPARISONS.filter((c) => records.some((r) => r[c.field] !== undefined));
      expect(estimateU(records, comparisons, { seed, pairs })).toEqual(plainEstimateU(records, comparisons, { seed, pairs }));
      const candidates = candidatePairs(records);
      const input = { version: 'v', records, candidates, seed, randomPairs: pairs, iterations: 3, ...DEFAULT_THRESHOLDS };
      fc.pre(records.length >= 2);
      const fitted = fitModelComparing(input);
      for (let k = 0; k < candidates.length; k++)
        expect(fitted.vectors[k]).toEqual(compareRecords(records[candidates[k]![0]]!, records[candidates[k]![1]]!, comparisons));
      for (const c of comparisons) {
        const u = plainEstimateU(records, comparisons, { seed, pairs })[comparisons.indexOf(c)]!;
        expect(fitted.model.fields[c.field]!.map((l) => l.u)).toEqual(u);
      }
    },
  );

  test.prop([arbDate, arbDate, arbText, arbText], { numRuns: RUNS * 3 })('each level test answers what its slices answer', (d1, d2, t1, t2) => {
    for (const [field, a, b] of [
      ['dateOfBirth', d1, d2],
      ['email', t1, t2],
      ['phone', t1, t2],
      ['email', d1, t2],
    ] as const) {
      const c = COMPARISONS.find((x) => x.field === field)!;
      expect(c.level(a, b), `${field} ${a} ${b}`).toBe(plainLevel[field]!(a, b));
    }
  });

  test.prop([fc.array(arbRecord, { minLength: 2, maxLength: 40 }), fc.integer({ min: 0, max: 25 })], { numRuns: RUNS })(
    'EM over the flat table gives the same m and prior as over the vectors, to the last bit',
    (records, iterations) => {
      const comparisons = COMPARISONS.filter((c) => records.some((r) => r[c.field] !== undefined));
      const u = estimateU(records, comparisons, { seed: 3, pairs: 500 });
      const vectors = candidatePairs(records).map(([i, j]) => compareRecords(records[i]!, records[j]!, comparisons));
      expect(estimateM(vectors, comparisons, u, { iterations, prior: 0.1 })).toEqual(plainEstimateM(vectors, comparisons, u, iterations));
    },
  );

  // vectors drawn directly, most of them repeats of a few (as a fit's are), some of every shape:
  // fields missing on one side, all missing, one vector, probabilities that round to 0 or 1
  const arbEm = fc.tuple(fc.subarray([...COMPARISONS], { minLength: 0 }), fc.integer({ min: 1, max: 6 })).chain(([comparisons, kinds]) => {
    const arbVector = fc.tuple(...comparisons.map((c) => fc.option(fc.nat({ max: c.levels.length - 1 }), { freq: 4 })));
    return fc.record({
      comparisons: fc.constant(comparisons),
      vectors: fc.array(arbVector, { minLength: 1, maxLength: kinds }).chain((kinds) => fc.array(fc.constantFrom(...kinds), { minLength: 0, maxLength: 300 })),
      u: fc.tuple(
        ...comparisons.map((c) =>
          fc.array(fc.oneof(fc.double({ min: 1e-12, max: 1, noNaN: true }), fc.constantFrom(1e-300, 0.5, 1)), {
            minLength: c.levels.length,
            maxLength: c.levels.length,
          }),
        ),
      ),
      iterations: fc.integer({ min: 0, max: 30 }),
      prior: fc.oneof(fc.double({ min: 1e-9, max: 1 - 1e-9, noNaN: true }), fc.constantFrom(1e-9, 0.1, 0.5)),
    });
  });
  test.prop([arbEm], { numRuns: RUNS })(
    'EM, each distinct vector weighed once per iteration, gives the same m and prior as over every vector, to the last bit',
    ({ comparisons, vectors, u, iterations, prior }) => {
      const plain = plainEstimateM(vectors, comparisons, u, iterations, prior);
      expect(estimateM(vectors, comparisons, u, { iterations, prior })).toEqual(plain);
    },
  );

  test.prop([fc.array(arbRecord, { minLength: 2, maxLength: 40 }), fc.double({ min: 0.01, max: 0.99, noNaN: true })], { numRuns: RUNS })(
    "a book scored from the fit's vectors is the book compared afresh, and a vector's weight is its score's",
    (list, reviewThreshold) => {
      const records = Object.fromEntries(list.map((r, i) => [`c${String(i).padStart(2, '0')}`, r]));
      const pairs = candidatePairs(list);
      const input = { version: 'v', records: list, candidates: pairs, seed: 5, randomPairs: 300, iterations: 10, ...DEFAULT_THRESHOLDS };
      const fitted = fitModelComparing(input);
      expect(fitted.model).toEqual(fitModel(input));
      const model = MatchModel.parse({ ...fitted.model, reviewThreshold, autoMergeThreshold: Math.max(reviewThreshold, 0.999) });
      const comparisons = modelComparisons(model);
      for (let k = 0; k < pairs.length; k++) {
        const [i, j] = pairs[k]!;
        expect(fitted.vectors[k]).toEqual(compareRecords(list[i]!, list[j]!, comparisons));
        expect(weightOfVector(model, comparisons, fitted.vectors[k]!)).toBe(scoreVector(model, comparisons, fitted.vectors[k]!).weight);
      }
      const decisions = pairs.slice(0, 2).map(([i, j], k) => ({
        type: k === 0 ? ('SuggestionRejected' as const) : ('AutoMergeUndone' as const),
        customerIds: [`c${String(i).padStart(2, '0')}`, `c${String(j).padStart(2, '0')}`] as const,
      }));
      const plain = JSON.stringify(plainBook(model, records, decisions));
      expect(JSON.stringify(buildBook(model, records, decisions, undefined, { pairs, vectors: fitted.vectors }))).toBe(plain);
      expect(JSON.stringify(buildBook(model, records, decisions))).toBe(plain);
    },
  );
});
