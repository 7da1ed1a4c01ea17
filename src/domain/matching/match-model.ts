import { z } from 'zod';
import { COMPARISONS, type Comparison, compareRecords, type ComparisonVector } from './comparisons.js';
import type { MatchField, MatchRecord } from './match-record.js';

const Probability = z.number().gt(0).lt(1);
const Level = z.object({ level: z.string(), m: Probability, u: Probability });

/**
 * A Fellegi-Sunter model is data: estimated from a tenant's records or set in its identity rules,
 * and versioned so every suggestion and merge names the model that scored it.
 */
export const MatchModel = z
  .object({
    version: z.string().min(1),
    /** probability that two records drawn at random are the same person */
    prior: Probability,
    fields: z.record(z.string(), z.array(Level).min(2)),
    /** a pair at or above this match probability becomes a suggestion for review */
    reviewThreshold: Probability,
    /** a pair at or above this probability merges on its own, when the tenant turns auto-merge on */
    autoMergeThreshold: Probability,
  })
  .refine((m) => m.autoMergeThreshold >= m.reviewThreshold, { message: 'autoMergeThreshold must be at least reviewThreshold', path: ['autoMergeThreshold'] });
export type MatchModel = z.infer<typeof MatchModel>;

/**
 * Default thresholds, chosen on FEBRL data set 1 (the one models are fitted on): review where F1
 * there stops rising, auto-merge four nines, far above any false pair seen there.
 */
export const DEFAULT_THRESHOLDS = { reviewThreshold: 0.9, autoMergeThreshold: 0.9999 } as const;

export type FieldWeight = {
  readonly field: MatchField;
  readonly level: string;
  readonly weight: number;
  /** for a level lowered for term frequency (term-frequency.ts): how many records hold the value it agreed on (more than two) */
  readonly holders?: number | undefined;
};
export type MatchScore = {
  readonly modelVersion: string;
  /** log2 of the posterior odds: prior plus the fields' weights */
  readonly weight: number;
  readonly probability: number;
  /** each compared field's contribution, log2(m/u); a field missing on either side is left out */
  readonly fields: readonly FieldWeight[];
  /**
   * fields both records hold that the model has no comparison for (fitted while too few records
   * carried them): not scored, so neither their agreement nor their disagreement counted. Absent
   * when there is none.
   */
  readonly notScored?: readonly MatchField[] | undefined;
};

const log2Odds = (p: number) => Math.log2(p / (1 - p));
export const probabilityOf = (weight: number): number => 1 / (1 + 2 ** -weight);

/** The comparisons a model knows, in the fixed comparison order. */
export const modelComparisons = (model: MatchModel): readonly Comparison[] => compiled(model).comparisons;

// Per model, once: its comparisons and each level's weight, so scoring a pair computes no logarithm.
// A model is immutable data, so the cache is keyed by the object and never goes stale.
type Compiled = { readonly comparisons: readonly Comparison[]; readonly levels: readonly (readonly FieldWeight[])[]; readonly priorWeight: number };
const compiledModels = new WeakMap<MatchModel, Compiled>();
const compiled = (model: MatchModel): Compiled => {
  let c = compiledModels.get(model);
  if (!c) {
    const comparisons = COMPARISONS.filter((x) => model.fields[x.field] !== undefined);
    const levels = comparisons.map((x) => model.fields[x.field]!.map((l) => ({ field: x.field, level: l.level, weight: Math.log2(l.m / l.u) })));
    c = { comparisons, levels, priorWeight: log2Odds(model.prior) };
    compiledModels.set(model, c);
  }
  return c;
};

/** Scores a comparison vector made with `modelComparisons(model)`. */
export const scoreVector = (model: MatchModel, comparisons: readonly Comparison[], vector: ComparisonVector): MatchScore => {
  const own = compiled(model);
  const levels = comparisons === own.comparisons ? own.levels : undefined;
  const fields: FieldWeight[] = [];
  let weight = own.priorWeight;
  comparisons.forEach((c, i) => {
    const index = vector[i];
    if (index === null || index === undefined) return;
    const known = levels ? levels[i]![index] : undefined;
    const level = known ? undefined : model.fields[c.field]?.[index];
    const f = known ?? (level ? { field: c.field, level: level.level, weight: Math.log2(level.m / level.u) } : undefined);
    if (f) fields.push(f), (weight += f.weight);
  });
  return { modelVersion: model.version, weight, probability: probabilityOf(weight), fields };
};

/**
 * scoreVector(model, comparisons, vector).weight, the same sum in the same order, without making the
 * score: most pairs a whole book scores are suggested to nobody.
 */
export const weightOfVector = (model: MatchModel, comparisons: readonly Comparison[], vector: ComparisonVector): number => {
  const own = compiled(model);
  const levels = comparisons === own.comparisons ? own.levels : undefined;
  let weight = own.priorWeight;
  for (let i = 0; i < comparisons.length; i++) {
    const index = vector[i];
    if (index === null || index === undefined) continue;
    const known = levels ? levels[i]![index] : undefined;
    if (known) weight += known.weight;
    else {
      const level = model.fields[comparisons[i]!.field]?.[index];
      if (level) weight += Math.log2(level.m / level.u);
    }
  }
  return weight;
};

/** The score, with the fields both records hold that the model does not compare (`notScored`), if any. */
export const withNotScored = (model: MatchModel, score: MatchScore, a: MatchRecord, b: MatchRecord): MatchScore => {
  let notScored: MatchField[] | undefined;
  for (const c of COMPARISONS)
    if (model.fields[c.field] === undefined && a[c.field] !== undefined && b[c.field] !== undefined) (notScored ??= []).push(c.field);
  return notScored ? { ...score, notScored } : score;
};

/** Scores one pair of normalised records. Pure and symmetric: score(a, b) equals score(b, a). */
export const scorePair = (model: MatchModel, a: MatchRecord, b: MatchRecord): MatchScore => {
  const comparisons = modelComparisons(model);
  return withNotScored(model, scoreVector(model, comparisons, compareRecords(a, b, comparisons)), a, b);
};

/**
 * How many fields a suggestion needs evidence from (a positive weight). One field alone never
 * suggests a pair, however high the model weighs its level: the model's u comes from random pairs,
 * which cannot tell a person from a value several people share on purpose (a role mailbox like
 * `info@`, an office line, a family email), and a record holding only that field leaves nothing to
 * tell them apart with. Term frequency lowers such a value's weight once many records hold it;
 * this holds while few do.
 */
export const MIN_AGREEING_FIELDS = 2;

/** True when at least MIN_AGREEING_FIELDS fields weigh for the match. */
export const corroborated = (score: Pick<MatchScore, 'fields'>): boolean => {
  let agreeing = 0;
  for (const f of score.fields) if (f.weight > 0 && ++agreeing >= MIN_AGREEING_FIELDS) return true;
  return false;
};

export type Verdict = 'auto_merge' | 'review' | 'none';
/** The band of a score: at or above a threshold, with evidence from at least two fields (`corroborated`); else none. */
export const verdictOf = (model: MatchModel, score: MatchScore): Verdict => {
  const band = score.probability >= model.autoMergeThreshold ? 'auto_merge' : score.probability >= model.reviewThreshold ? 'review' : 'none';
  return band !== 'none' && corroborated(score) ? band : 'none';
};
