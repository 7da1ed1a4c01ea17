import { COMPARISONS, type Comparison, type ComparisonVector } from './comparisons.js';
import type { MatchField, MatchRecord } from './match-record.js';
import { MatchModel } from './match-model.js';
import { seededRandom } from './random.js';

// Estimation as Splink does it: u (how often a level occurs by chance) from random pairs, m (how
// often it occurs between the same person's records) by expectation-maximisation over the blocked
// candidate pairs, with u held fixed. Pure: records, pairs and the seed are inputs.

type Table = readonly (readonly number[])[];
const SMOOTHING = 1e-3;

const frequencies = (comparisons: readonly Comparison[], counts: readonly number[][]): Table =>
  comparisons.map((c, i) => {
    const row = counts[i]!;
    const total = row.reduce((s, x) => s + x, 0);
    return c.levels.map((_, l) => (row[l]! + SMOOTHING) / (total + SMOOTHING * c.levels.length));
  });

/**
 * compareRecords(records[i], records[j], comparisons), for pairs of indices into `records`, each
 * field's level worked out once per ordered pair of its values where the records hold few distinct
 * values of it (names, cities: a fit compares tens of thousands of pairs, most of them the same
 * few names again). A level is a function of the two values alone, so the vectors are the ones
 * compareRecords makes; a field whose values are mostly distinct (emails, phones) is compared pair
 * by pair as there.
 */
const recordComparer = (records: readonly MatchRecord[], comparisons: readonly Comparison[]): ((i: number, j: number) => ComparisonVector) => {
  const n = records.length;
  const fields = comparisons.map((c) => {
    // each record's value (read once: a record's key read per pair is a lookup among many shapes),
    // and its index among the field's distinct values (-1: none)
    const values: (string | undefined)[] = [];
    const index = new Map<string, number>();
    const of = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const v = records[k]![c.field];
      values.push(v);
      if (v === undefined) of[k] = -1;
      else {
        let at = index.get(v);
        if (at === undefined) index.set(v, (at = index.size));
        of[k] = at;
      }
    }
    const d = index.size;
    // worth it where values repeat: at most a quarter as many as the records, and a table of at most 2^20 levels
    const levels = d * 4 <= n && d * d <= 1 << 20 ? new Int8Array(d * d).fill(-1) : undefined;
    return { c, values, of, d, levels };
  });
  return (i, j) => {
    const v: (number | null)[] = [];
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k]!;
      const x = f.values[i];
      const y = f.values[j];
      if (x === undefined || y === undefined) v.push(null);
      else if (f.levels === undefined) v.push(f.c.level(x, y));
      else {
        const cell = f.of[i]! * f.d + f.of[j]!;
        let level = f.levels[cell]!;
        // a level above 127 does not fit a cell: worked out each time (no comparison has that many)
        if (level < 0) {
          level = f.c.level(x, y);
          if (level >= 0 && level <= 127) f.levels[cell] = level;
        }
        v.push(level);
      }
    }
    return v;
  };
};

/**
 * u per comparison and level, from `pairs` pairs of distinct records drawn with the seeded generator;
 * or, when the records make no more distinct pairs than that, from every pair once, each counted
 * `pairs / distinct pairs` times: the counts the sample gives on average (so the smoothing weighs
 * the same), without its noise and for less work (a small tenant's model is fitted again each time
 * it doubles).
 */
export const estimateU = (records: readonly MatchRecord[], comparisons: readonly Comparison[], opts: { seed: number; pairs: number }): Table => {
  return estimateUComparing(records, comparisons, opts, recordComparer(records, comparisons));
};

const estimateUComparing = (
  records: readonly MatchRecord[],
  comparisons: readonly Comparison[],
  opts: { seed: number; pairs: number },
  compare: (i: number, j: number) => ComparisonVector,
): Table => {
  const counts = comparisons.map((c) => c.levels.map(() => 0));
  const count = (i: number, j: number, times: number) => {
    const v = compare(i, j);
    for (let c = 0; c < v.length; c++) if (v[c] !== null) counts[c]![v[c]!]! += times;
  };
  const n = records.length;
  const distinct = (n * (n - 1)) / 2;
  if (distinct <= opts.pairs) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) count(i, j, opts.pairs / distinct);
    return frequencies(comparisons, counts);
  }
  const random = seededRandom(opts.seed);
  for (let k = 0; k < opts.pairs; k++) {
    const i = Math.floor(random() * n);
    const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
    count(i, j, 1);
  }
  return frequencies(comparisons, counts);
};

/**
 * The distinct rows of `cells` (`count` rows of `n` cells, each below `width` or -1): `ids[k]`, the
 * index of row k among them, and `distinct`, each distinct row once, in the order of first sight.
 */
const distinctCells = (cells: Int32Array, count: number, n: number, width: number): { ids: Int32Array; distinct: Int32Array; size: number } => {
  const ids = new Int32Array(count);
  const index = new Map<number | string, number>();
  const firsts: number[] = [];
  // a row as one number, its cells the digits (in base width + 1), where that is exact; else as text
  const radix = width + 1;
  let numeric = radix ** n <= Number.MAX_SAFE_INTEGER;
  for (let i = 0; numeric && i < cells.length; i++) if (cells[i]! < -1 || cells[i]! >= width) numeric = false;
  for (let k = 0, at = 0; k < count; k++, at += n) {
    let key: number | string = 0;
    if (numeric) for (let c = 0; c < n; c++) key = key * radix + cells[at + c]! + 1;
    else key = cells.subarray(at, at + n).join(',');
    let id = index.get(key);
    if (id === undefined) index.set(key, (id = firsts.push(at) - 1));
    ids[k] = id;
  }
  const distinct = new Int32Array(firsts.length * n);
  for (let d = 0; d < firsts.length; d++) distinct.set(cells.subarray(firsts[d]!, firsts[d]! + n), d * n);
  return { ids, distinct, size: firsts.length };
};

/** Adds each row's probability to the counts of its cells, row by row in order; the sum of the probabilities. */
const addProbabilities = (ids: Int32Array, distinct: Int32Array, n: number, probabilities: Float64Array, counts: Float64Array): number => {
  let sum = 0;
  for (let k = 0; k < ids.length; k++) {
    const d = ids[k]!;
    const p = probabilities[d]!;
    sum += p;
    for (let c = 0, at = d * n; c < n; c++) {
      const cell = distinct[at + c]!;
      if (cell >= 0) counts[cell]! += p;
    }
  }
  return sum;
};

const initialM = (comparisons: readonly Comparison[]): Table =>
  comparisons.map((c) => c.levels.map((_, l) => (l === 0 ? 0.8 : l === c.levels.length - 1 ? 0.05 : 0.15 / Math.max(1, c.levels.length - 2))));

/** m per comparison and level, and the share of matches among the vectors, by EM with u fixed. */
export const estimateM = (
  vectors: readonly ComparisonVector[],
  comparisons: readonly Comparison[],
  u: Table,
  opts: { iterations: number; prior: number },
): { m: Table; prior: number } => {
  let m = initialM(comparisons);
  let prior = opts.prior;
  if (vectors.length === 0 || opts.iterations <= 0) return { m, prior };
  // every (comparison, level) is one cell of a flat table, and each vector the cells it reached
  // (-1 for a field a side lacks): the iterations read typed arrays, never a vector's boxes
  const offsets: number[] = [];
  let width = 0;
  for (const c of comparisons) offsets.push(width), (width += c.levels.length);
  const n = comparisons.length;
  const cells = new Int32Array(vectors.length * n).fill(-1);
  for (let k = 0; k < vectors.length; k++) {
    const v = vectors[k]!;
    for (let c = 0; c < v.length; c++) if (v[c] !== null) cells[k * n + c] = offsets[c]! + v[c]!;
  }
  // a fit's tens of thousands of candidate pairs make a few dozen distinct vectors: each one's
  // match probability is worked out once per iteration, and the counts still add every vector's,
  // in the vectors' order, so that they are the same numbers to the last bit
  const { ids, distinct, size } = distinctCells(cells, vectors.length, n, width);
  const ratios = new Float64Array(width);
  const counts = new Float64Array(width);
  const probabilities = new Float64Array(size);
  for (let it = 0; it < opts.iterations; it++) {
    counts.fill(0);
    // each level's log(m/u), once per iteration rather than once per vector
    for (let c = 0; c < n; c++) for (let l = 0; l < comparisons[c]!.levels.length; l++) ratios[offsets[c]! + l] = Math.log(m[c]![l]! / u[c]![l]!);
    const priorRatio = Math.log(prior / (1 - prior));
    for (let d = 0, at = 0; d < size; d++, at += n) {
      let logRatio = priorRatio;
      for (let c = 0; c < n; c++) {
        const cell = distinct[at + c]!;
        if (cell >= 0) logRatio += ratios[cell]!;
      }
      probabilities[d] = 1 / (1 + Math.exp(-logRatio));
    }
    const matches = addProbabilities(ids, distinct, n, probabilities, counts);
    m = frequencies(
      comparisons,
      comparisons.map((c, i) => Array.from(counts.subarray(offsets[i]!, offsets[i]! + c.levels.length))),
    );
    prior = Math.min(1 - 1e-9, Math.max(1e-9, matches / vectors.length));
  }
  return { m, prior };
};

export type FitInput = {
  readonly version: string;
  readonly records: readonly MatchRecord[];
  /** candidate pairs (indices into records), usually from blocking */
  readonly candidates: readonly (readonly [number, number])[];
  readonly seed: number;
  readonly randomPairs: number;
  readonly iterations: number;
  readonly fields?: readonly MatchField[];
  readonly reviewThreshold: number;
  readonly autoMergeThreshold: number;
};

/** Fits a model to one tenant's records. Fields no record holds are left out of the model. */
export const fitModel = (input: FitInput): MatchModel => fitModelComparing(input).model;

/**
 * fitModel, with the comparison vector of each candidate pair it compared (`vectors[k]` for
 * `input.candidates[k]`, under `modelComparisons(model)`): scoring the same pairs with the model
 * (a whole book, `buildBook`) need not compare them again.
 */
export const fitModelComparing = (input: FitInput): { readonly model: MatchModel; readonly vectors: readonly ComparisonVector[] } => {
  const held = COMPARISONS.filter((c) => (input.fields ?? COMPARISONS.map((x) => x.field)).includes(c.field));
  const comparisons = held.filter((c) => input.records.some((r) => r[c.field] !== undefined));
  // one comparer for the random pairs and the candidates: the levels of the values they share are worked out once
  const compare = recordComparer(input.records, comparisons);
  const u = estimateUComparing(input.records, comparisons, { seed: input.seed, pairs: input.randomPairs }, compare);
  const vectors = input.candidates.map(([i, j]) => compare(i, j));
  const { m, prior } = estimateM(vectors, comparisons, u, { iterations: input.iterations, prior: 0.1 });
  const n = input.records.length;
  // EM saw candidate pairs only; the model's prior is for any two records
  const randomPrior = Math.min(0.5, Math.max(1e-12, (prior * input.candidates.length) / Math.max(1, (n * (n - 1)) / 2)));
  const fields = Object.fromEntries(comparisons.map((c, i) => [c.field, c.levels.map((level, l) => ({ level, m: m[i]![l]!, u: u[i]![l]! }))]));
  const model = MatchModel.parse({
    version: input.version,
    prior: randomPrior,
    fields,
    reviewThreshold: input.reviewThreshold,
    autoMergeThreshold: input.autoMergeThreshold,
  });
  // the model's comparisons are the ones compared here: COMPARISONS, filtered to its fields, in order
  return { model, vectors };
};
