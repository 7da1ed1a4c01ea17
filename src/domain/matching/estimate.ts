import { COMPARISONS, type Comparison, type ComparisonVector, compareRecords } from './comparisons.js';
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

/** u per comparison and level, from `pairs` pairs of distinct records drawn with the seeded generator. */
export const estimateU = (records: readonly MatchRecord[], comparisons: readonly Comparison[], opts: { seed: number; pairs: number }): Table => {
  const random = seededRandom(opts.seed);
  const counts = comparisons.map((c) => c.levels.map(() => 0));
  for (let k = 0; k < opts.pairs && records.length > 1; k++) {
    const i = Math.floor(random() * records.length);
    const j = (i + 1 + Math.floor(random() * (records.length - 1))) % records.length;
    compareRecords(records[i]!, records[j]!, comparisons).forEach((l, c) => l !== null && counts[c]![l]!++);
  }
  return frequencies(comparisons, counts);
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
  for (let it = 0; it < opts.iterations && vectors.length > 0; it++) {
    const counts = comparisons.map((c) => c.levels.map(() => 0));
    let matches = 0;
    for (const v of vectors) {
      let logRatio = Math.log(prior / (1 - prior));
      v.forEach((l, c) => l !== null && (logRatio += Math.log(m[c]![l]! / u[c]![l]!)));
      const p = 1 / (1 + Math.exp(-logRatio));
      matches += p;
      v.forEach((l, c) => l !== null && (counts[c]![l]! += p));
    }
    m = frequencies(comparisons, counts);
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
export const fitModel = (input: FitInput): MatchModel => {
  const held = COMPARISONS.filter((c) => (input.fields ?? COMPARISONS.map((x) => x.field)).includes(c.field));
  const comparisons = held.filter((c) => input.records.some((r) => r[c.field] !== undefined));
  const u = estimateU(input.records, comparisons, { seed: input.seed, pairs: input.randomPairs });
  const vectors = input.candidates.map(([i, j]) => compareRecords(input.records[i]!, input.records[j]!, comparisons));
  const { m, prior } = estimateM(vectors, comparisons, u, { iterations: input.iterations, prior: 0.1 });
  const n = input.records.length;
  // EM saw candidate pairs only; the model's prior is for any two records
  const randomPrior = Math.min(0.5, Math.max(1e-12, (prior * input.candidates.length) / Math.max(1, (n * (n - 1)) / 2)));
  const fields = Object.fromEntries(comparisons.map((c, i) => [c.field, c.levels.map((level, l) => ({ level, m: m[i]![l]!, u: u[i]![l]! }))]));
  return MatchModel.parse({
    version: input.version,
    prior: randomPrior,
    fields,
    reviewThreshold: input.reviewThreshold,
    autoMergeThreshold: input.autoMergeThreshold,
  });
};
