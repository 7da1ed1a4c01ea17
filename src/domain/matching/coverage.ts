import { COMPARISONS } from './comparisons.js';
import type { MatchField, MatchRecord } from './match-record.js';

// Which fields a fitted model can compare. A model fitted while the tenant's records lacked a field
// (no date of birth had arrived yet) has no usable comparison for it: the field is left out, or its
// m and u come from a handful of pairs. The match book keeps, beside its model, how many of the
// records it was fitted on carried each field, and counts the records carrying a watched one since;
// once enough do, the model is due to be fitted again, a bounded number of times per field: each
// time it is due counts as a refit whether or not the refit then succeeds (or is left to a
// rebuild), and the next due point is twice the count it was due at. A watched field that stays
// thin is not counted forever: once as many records have gained or lost it as `watchMoves` times
// its due point without it becoming due, it is no longer watched (until the next fit). Pure: the
// book's projection applies it.

export type FieldCounts = Readonly<Partial<Record<MatchField, number>>>;

/** What the match book keeps about its model's fields. */
export type FieldCoverage = {
  /** per field, how many of the records the model was fitted on carried it (absent: none did) */
  readonly fittedWith: FieldCounts;
  /** per watched field, how many records carry it now */
  readonly carrying: FieldCounts;
  /** per field, how many times it had the model fitted again (or was due to: the attempt counts) */
  readonly refits: FieldCounts;
  /** per watched field, how many records gained or lost it since the fit (absent: none) */
  readonly moved?: FieldCounts | undefined;
  /** per field, how many records carried it when a refit for it was last due since the fit */
  readonly dueWith?: FieldCounts | undefined;
};

/**
 * The rule. A field is watched when fewer than `thinShare` of the records the model was fitted on
 * carried it (none at all included), or when it has had the model fitted again before (it is still
 * arriving); and only while it has had fewer than `refitsPerField` refits. A watched field is due,
 * and the model fitted again, once the records carrying it number at least `dueMin`, `dueShare` of
 * the records the model was fitted on, and twice those that carried it at the fit. So a field that
 * arrives after the fit has the model fitted again at 10% of that size, then each time its records
 * double, three times at most; a large tenant's other new customers do not count. A refit due and
 * not done (it failed, or was left to a rebuild) is due again only at twice the records it was due
 * at. A watched field stops being watched once `watchMoves` times its due point records have gained
 * or lost it since the fit, without it becoming due: the writes a thin field costs are bounded.
 */
export const COVERAGE_RULE = { thinShare: 0.05, dueShare: 0.1, dueMin: 20, refitsPerField: 3, watchMoves: 4 } as const;

const FIELDS: readonly MatchField[] = COMPARISONS.map((c) => c.field);

const counts = (entries: Iterable<readonly [MatchField, number]>): FieldCounts => {
  const out: Partial<Record<MatchField, number>> = {};
  for (const [f, n] of entries) if (n !== 0) out[f] = n;
  return out;
};

/** How many records carry each compared field. */
const fieldCountsOf = (records: readonly MatchRecord[]): FieldCounts =>
  counts(FIELDS.map((f) => [f, records.reduce((n, r) => n + (r[f] === undefined ? 0 : 1), 0)] as const));

const thin = (count: number, fittedOn: number): boolean => count < COVERAGE_RULE.thinShare * fittedOn;

/** How many records must carry a watched field for the model to be due to be fitted again. */
export const dueAt = (coverage: FieldCoverage, field: MatchField, fittedOn: number): number =>
  Math.max(COVERAGE_RULE.dueMin, Math.ceil(COVERAGE_RULE.dueShare * fittedOn), 2 * (coverage.fittedWith[field] ?? 0), 2 * (coverage.dueWith?.[field] ?? 0));

/**
 * The coverage of a model just fitted on `records`, the refits each field has had so far given
 * (this one's included): every watched field is counted from its count at the fit.
 */
export const coverageAtFit = (records: readonly MatchRecord[], refits: FieldCounts = {}): FieldCoverage => {
  const fittedWith = fieldCountsOf(records);
  const watched = FIELDS.filter((f) => (thin(fittedWith[f] ?? 0, records.length) || (refits[f] ?? 0) > 0) && (refits[f] ?? 0) < COVERAGE_RULE.refitsPerField);
  return { fittedWith, carrying: Object.fromEntries(watched.map((f) => [f, fittedWith[f] ?? 0])), refits: counts(FIELDS.map((f) => [f, refits[f] ?? 0])) };
};

/**
 * The coverage of a model entry written before coverage was kept: the fields its model lacks are
 * watched from zero (records carrying them since the fit were not counted), the others not at all.
 */
export const coverageUnknown = (modelFields: readonly string[]): FieldCoverage => {
  const known = new Set(modelFields);
  return { fittedWith: {}, carrying: Object.fromEntries(FIELDS.filter((f) => !known.has(f)).map((f) => [f, 0])), refits: {} };
};

/** How one record's change moves the count of each field: +1 where it now carries one it did not, -1 the other way. */
export const fieldDeltaOf = (before: MatchRecord | undefined, after: MatchRecord | undefined): FieldCounts =>
  counts(FIELDS.map((f) => [f, (after?.[f] === undefined ? 0 : 1) - (before?.[f] === undefined ? 0 : 1)] as const));

/** Adds two field deltas. */
export const addFieldCounts = (a: FieldCounts, b: FieldCounts): FieldCounts => counts(FIELDS.map((f) => [f, (a[f] ?? 0) + (b[f] ?? 0)] as const));

/**
 * The coverage after records moved by `delta`, for a model fitted on `fittedOn` records; the same
 * object when no watched field moved (nothing to write). A watched field moved, since the fit, by
 * `watchMoves` times its due point without becoming due is no longer watched.
 */
export const countCarrying = (coverage: FieldCoverage, delta: FieldCounts, fittedOn: number): FieldCoverage => {
  const moving = Object.keys(coverage.carrying).filter((f) => (delta[f as MatchField] ?? 0) !== 0) as MatchField[];
  if (moving.length === 0) return coverage;
  const carrying: Partial<Record<MatchField, number>> = { ...coverage.carrying };
  const moved: Partial<Record<MatchField, number>> = { ...coverage.moved };
  for (const f of moving) {
    carrying[f] = Math.max(0, (carrying[f] ?? 0) + delta[f]!);
    moved[f] = (moved[f] ?? 0) + Math.abs(delta[f]!);
    const at = dueAt(coverage, f, fittedOn);
    if (carrying[f]! < at && moved[f]! >= COVERAGE_RULE.watchMoves * at) {
      delete carrying[f];
      delete moved[f];
    }
  }
  return { ...coverage, carrying, moved };
};

/** The watched fields enough records now carry: the model is due to be fitted again for them. */
export const dueFields = (coverage: FieldCoverage, fittedOn: number): readonly MatchField[] =>
  FIELDS.filter(
    (f) =>
      coverage.carrying[f] !== undefined && coverage.carrying[f]! >= dueAt(coverage, f, fittedOn) && (coverage.refits[f] ?? 0) < COVERAGE_RULE.refitsPerField,
  );

/**
 * The coverage once a refit for `due` is attempted: each counts a refit, and is due again (should
 * this one fail, or be left to a rebuild) only once twice the records now carrying it do.
 */
export const refitAttempted = (coverage: FieldCoverage, due: readonly MatchField[]): FieldCoverage => ({
  ...coverage,
  refits: withRefits(coverage.refits, due),
  dueWith: { ...coverage.dueWith, ...Object.fromEntries(due.map((f) => [f, coverage.carrying[f] ?? 0])) },
});

/** The refits per field after one for `due`. */
export const withRefits = (refits: FieldCounts, due: readonly MatchField[]): FieldCounts => addFieldCounts(refits, Object.fromEntries(due.map((f) => [f, 1])));
