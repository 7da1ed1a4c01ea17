import { COMPARISONS } from './comparisons.js';
import type { MatchField, MatchRecord } from './match-record.js';

// Which fields a fitted model can compare. A model fitted while the tenant's records lacked a field
// (no date of birth had arrived yet) has no usable comparison for it: the field is left out, or its
// m and u come from a handful of pairs. The match book keeps, beside its model, how many of the
// records it was fitted on carried each field, and counts the records carrying a watched one since;
// once enough do, the model is fitted again, whatever the tenant's size, a bounded number of times
// per field. Pure: the book's projection applies it.

export type FieldCounts = Readonly<Partial<Record<MatchField, number>>>;

/** What the match book keeps about its model's fields. */
export type FieldCoverage = {
  /** per field, how many of the records the model was fitted on carried it (absent: none did) */
  readonly fittedWith: FieldCounts;
  /** per watched field, how many records carry it now */
  readonly carrying: FieldCounts;
  /** per field, how many times it had the model fitted again */
  readonly refits: FieldCounts;
};

/**
 * The rule. A field is watched when fewer than `thinShare` of the records the model was fitted on
 * carried it (none at all included), or when it has had the model fitted again before (it is still
 * arriving); and only while it has had fewer than `refitsPerField` refits. A watched field is due,
 * and the model fitted again, once the records carrying it number at least `dueMin`, `dueShare` of
 * the records the model was fitted on, and twice those that carried it at the fit. So a field that
 * arrives after the fit has the model fitted again at 10% of that size, then each time its records
 * double, three times at most; a large tenant's other new customers do not count.
 */
export const COVERAGE_RULE = { thinShare: 0.05, dueShare: 0.1, dueMin: 20, refitsPerField: 3 } as const;

const FIELDS: readonly MatchField[] = COMPARISONS.map((c) => c.field);

const counts = (entries: Iterable<readonly [MatchField, number]>): FieldCounts => {
  const out: Partial<Record<MatchField, number>> = {};
  for (const [f, n] of entries) if (n !== 0) out[f] = n;
  return out;
};

/** How many records carry each compared field. */
export const fieldCountsOf = (records: readonly MatchRecord[]): FieldCounts =>
  counts(FIELDS.map((f) => [f, records.reduce((n, r) => n + (r[f] === undefined ? 0 : 1), 0)] as const));

const thin = (count: number, fittedOn: number): boolean => count < COVERAGE_RULE.thinShare * fittedOn;

/** How many records must carry a watched field for the model to be due to be fitted again. */
export const dueAt = (coverage: FieldCoverage, field: MatchField, fittedOn: number): number =>
  Math.max(COVERAGE_RULE.dueMin, Math.ceil(COVERAGE_RULE.dueShare * fittedOn), 2 * (coverage.fittedWith[field] ?? 0));

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

/** The coverage after records moved by `delta`; the same object when no watched field moved (nothing to write). */
export const countCarrying = (coverage: FieldCoverage, delta: FieldCounts): FieldCoverage => {
  const moved = Object.keys(coverage.carrying).filter((f) => (delta[f as MatchField] ?? 0) !== 0) as MatchField[];
  if (moved.length === 0) return coverage;
  const carrying = { ...coverage.carrying };
  for (const f of moved) carrying[f] = Math.max(0, (carrying[f] ?? 0) + delta[f]!);
  return { ...coverage, carrying };
};

/** The watched fields enough records now carry: the model is due to be fitted again for them. */
export const dueFields = (coverage: FieldCoverage, fittedOn: number): readonly MatchField[] =>
  FIELDS.filter(
    (f) =>
      coverage.carrying[f] !== undefined && coverage.carrying[f]! >= dueAt(coverage, f, fittedOn) && (coverage.refits[f] ?? 0) < COVERAGE_RULE.refitsPerField,
  );

/** The refits per field after one for `due`. */
export const withRefits = (refits: FieldCounts, due: readonly MatchField[]): FieldCounts => addFieldCounts(refits, Object.fromEntries(due.map((f) => [f, 1])));
