import { blockingKeys, candidatePairs } from './blocking.js';
import { type ComparisonVector, compareRecords } from './comparisons.js';
import type { FieldCoverage } from './coverage.js';
import type { MatchField, MatchRecord } from './match-record.js';
import { type MatchModel, type MatchScore, modelComparisons, probabilityOf, scoreVector, verdictOf, weightOfVector, withNotScored } from './match-model.js';

// The matching read model, pure: each active customer's normalised record, the blocking index over
// them, and the suggestions between them, plus what people decided (rejections, undone
// auto-merges). `evolve` keeps it as events arrive; replaying the same changes in any order gives
// the same suggestions, because a changed record drops every suggestion naming it and is scored
// again against the current candidates.

export type PairKey = string;
export const pairKey = (a: string, b: string): PairKey => (a < b ? `${a} ${b}` : `${b} ${a}`);

export type Suggestion = {
  readonly customerIds: readonly [string, string];
  readonly score: MatchScore;
  readonly verdict: 'auto_merge' | 'review';
};

export type MatchBook = {
  readonly records: Readonly<Record<string, MatchRecord>>;
  /** blocking key -> the customers holding it, sorted */
  readonly blocks: Readonly<Record<string, readonly string[]>>;
  readonly suggestions: Readonly<Record<PairKey, Suggestion>>;
  readonly rejected: Readonly<Record<PairKey, true>>;
  /** pairs an auto-merge joined and a person took apart: never auto-merged again */
  readonly autoMergeUndone: Readonly<Record<PairKey, true>>;
};

/**
 * The match book as a store keeps it, a few entries per change: one per customer (its record, its
 * suggestions and the decisions naming it, each pair held by both sides), one per blocking key,
 * and the tenant's model with the number of records it was fitted on, the number held now, and
 * which fields it was fitted with (absent in an entry written before that was kept).
 */
export type MatchBookEntry =
  | {
      readonly type: 'model';
      readonly model: MatchModel;
      readonly fittedOn: number;
      readonly records: number;
      readonly coverage?: FieldCoverage | undefined;
      /** fields a refit is due for, left to a rebuild (the tenant was past the size a refit runs inline at) */
      readonly refitDue?: readonly MatchField[] | undefined;
      /** the number of records a refit for growth was last tried at, since the fit (one that failed: tried again at twice it) */
      readonly grownAt?: number | undefined;
    }
  | {
      readonly type: 'customer';
      readonly record?: MatchRecord | undefined;
      readonly suggestions: readonly Suggestion[];
      readonly rejected: readonly string[];
      readonly autoMergeUndone: readonly string[];
    }
  | { readonly type: 'block'; readonly key: string; readonly ids: readonly string[] };

export const emptyBook: MatchBook = { records: {}, blocks: {}, suggestions: {}, rejected: {}, autoMergeUndone: {} };

export type MatchChange =
  /** a customer's current record (after any identify, trait update or unmerge) */
  | { readonly type: 'RecordChanged'; readonly customerId: string; readonly record: MatchRecord }
  /** merged away, erased, or otherwise no longer a customer to match */
  | { readonly type: 'CustomerRemoved'; readonly customerId: string }
  | { readonly type: 'SuggestionRejected'; readonly customerIds: readonly [string, string] }
  | { readonly type: 'AutoMergeUndone'; readonly customerIds: readonly [string, string] }
  /** erasure: the customer goes, and every entry naming it, decisions included */
  | { readonly type: 'CustomerErased'; readonly customerId: string };

const without = <T>(rec: Readonly<Record<string, T>>, drop: (k: string, v: T) => boolean): Record<string, T> =>
  Object.fromEntries(Object.entries(rec).filter(([k, v]) => !drop(k, v)));

// ids hold no space (pairKey joins two with one), so a half is the id exactly when a space borders it
const names = (key: PairKey, id: string): boolean =>
  (key.charCodeAt(id.length) === 32 && key.startsWith(id)) || (key.charCodeAt(key.length - id.length - 1) === 32 && key.endsWith(id));

const unindex = (book: MatchBook, id: string): MatchBook => {
  const old = book.records[id];
  if (!old) return book;
  const blocks = { ...book.blocks };
  for (const k of blockingKeys(old)) {
    const left = (blocks[k] ?? []).filter((x) => x !== id);
    if (left.length) blocks[k] = left;
    else delete blocks[k];
  }
  return { ...book, records: without(book.records, (k) => k === id), blocks, suggestions: without(book.suggestions, (k) => names(k, id)) };
};

/** A copy of sorted, distinct `ids` with `id` in its place (once). */
const insertSorted = (ids: readonly string[], id: string): readonly string[] => {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return ids[lo] === id ? ids : [...ids.slice(0, lo), id, ...ids.slice(lo)];
};

/** Sorted and without repeats already (as the book writes them): nothing to do. */
const sortedDistinct = (ids: readonly string[]): boolean => ids.every((x, i) => i === 0 || ids[i - 1]! < x);

/** The customers listed under these blocking keys, `id` excluded, sorted. */
const candidatesIn = (book: MatchBook, id: string, keys: readonly string[], maxBlock: number): readonly string[] => {
  const out = new Set<string>();
  for (const k of keys) {
    const ids = book.blocks[k] ?? [];
    if (ids.length <= maxBlock) for (const x of ids) if (x !== id) out.add(x);
  }
  return [...out].sort();
};

/** The customers sharing a blocking key with this record, itself excluded, sorted. */
export const candidatesOf = (book: MatchBook, id: string, record: MatchRecord, maxBlock = 200): readonly string[] =>
  candidatesIn(book, id, blockingKeys(record), maxBlock);

/** `book` (which holds no record for `id`) with `record` as id's, blocked and scored against its candidates. */
const index = (book: MatchBook, id: string, record: MatchRecord, model: MatchModel): MatchBook => {
  const comparisons = modelComparisons(model);
  // verdictOf answers 'none' below both thresholds: such a pair (most candidates) is not scored, as in buildBook
  const below = Math.min(model.reviewThreshold, model.autoMergeThreshold);
  const keys = blockingKeys(record);
  // a pair's key (a new string, made a property key) only where it is looked up: rejections, if any, and suggestions
  const anyRejected = Object.keys(book.rejected).length > 0;
  const suggestions = { ...book.suggestions };
  for (const other of candidatesIn(book, id, keys, 200)) {
    const theirs = book.records[other];
    // a block may list a customer whose record the book does not hold (a write another process lost)
    if (theirs === undefined || (anyRejected && book.rejected[pairKey(id, other)])) continue;
    // scored as scorePair scores the pair in id order: a before b
    const first = id < other;
    const vector = first ? compareRecords(record, theirs, comparisons) : compareRecords(theirs, record, comparisons);
    if (probabilityOf(weightOfVector(model, comparisons, vector)) < below) continue;
    const score = withNotScored(model, scoreVector(model, comparisons, vector), record, theirs);
    const verdict = verdictOf(model, score);
    if (verdict === 'none') continue;
    const key = pairKey(id, other);
    suggestions[key] = {
      customerIds: first ? [id, other] : [other, id],
      score,
      verdict: verdict === 'auto_merge' && book.autoMergeUndone[key] ? 'review' : verdict,
    };
  }
  const blocks = { ...book.blocks };
  for (const k of keys) blocks[k] = insertSorted(blocks[k] ?? [], id);
  return { ...book, records: { ...book.records, [id]: record }, blocks, suggestions };
};

export const evolveBook = (model: MatchModel, book: MatchBook, change: MatchChange): MatchBook => {
  switch (change.type) {
    case 'RecordChanged':
      return index(unindex(book, change.customerId), change.customerId, change.record, model);
    case 'CustomerRemoved':
      return unindex(book, change.customerId);
    case 'SuggestionRejected': {
      const key = pairKey(...change.customerIds);
      return { ...book, rejected: { ...book.rejected, [key]: true }, suggestions: without(book.suggestions, (k) => k === key) };
    }
    case 'AutoMergeUndone': {
      const key = pairKey(...change.customerIds);
      const s = book.suggestions[key];
      const suggestions = s?.verdict === 'auto_merge' ? { ...book.suggestions, [key]: { ...s, verdict: 'review' as const } } : book.suggestions;
      return { ...book, autoMergeUndone: { ...book.autoMergeUndone, [key]: true }, suggestions };
    }
    case 'CustomerErased': {
      const id = change.customerId;
      const rest = unindex(book, id);
      return { ...rest, rejected: without(rest.rejected, (k) => names(k, id)), autoMergeUndone: without(rest.autoMergeUndone, (k) => names(k, id)) };
    }
  }
};

/** Best first: the higher weight, ties by the pair's ids. */
export const bestFirst = (x: Suggestion, y: Suggestion): number =>
  y.score.weight - x.score.weight || (x.customerIds.join(' ') < y.customerIds.join(' ') ? -1 : 1);

/** A customer's suggestions, best first (ties by the other customer's id). */
export const suggestionsFor = (book: MatchBook, id: string): readonly Suggestion[] =>
  Object.entries(book.suggestions)
    .filter(([k]) => names(k, id))
    .map(([, s]) => s)
    .sort(bestFirst);

/** The merges to make for a customer: none unless the tenant turned auto-merge on. */
export const autoMergesFor = (book: MatchBook, id: string, autoMerge: boolean): readonly Suggestion[] =>
  autoMerge ? suggestionsFor(book, id).filter((s) => s.verdict === 'auto_merge') : [];

/**
 * The book of a whole tenant at once (a rebuild): every record blocked and every candidate pair
 * scored once, in one pass, without the copies `evolveBook` makes per change. The decisions come
 * first, so a rejected pair is never suggested and an undone auto-merge is only ever for review.
 * Blocks are judged at their final size (a block over `maxBlock` is skipped), where `evolveBook`
 * judges them as they grow: the two agree unless a block crosses the limit. `compared`: the
 * candidate pairs and their comparison vectors a fit on the same records already made
 * (`candidatePairs` of the records in id order with the same `maxBlock`, and `fitModelComparing`'s
 * vectors under `modelComparisons(model)`), so no pair is compared twice.
 */
export const buildBook = (
  model: MatchModel,
  records: Readonly<Record<string, MatchRecord>>,
  decisions: readonly Extract<MatchChange, { type: 'SuggestionRejected' | 'AutoMergeUndone' }>[],
  maxBlock = 200,
  compared?: { readonly pairs: readonly (readonly [number, number])[]; readonly vectors: readonly ComparisonVector[] },
): MatchBook => {
  const rejected: Record<PairKey, true> = {};
  const autoMergeUndone: Record<PairKey, true> = {};
  for (const d of decisions) (d.type === 'SuggestionRejected' ? rejected : autoMergeUndone)[pairKey(...d.customerIds)] = true;
  const ids = Object.keys(records).sort();
  const list = ids.map((id) => records[id]!);
  const blocks: Record<string, string[]> = {};
  for (const id of ids) for (const k of blockingKeys(records[id]!)) (blocks[k] ??= []).push(id);
  // the pairs sharing a block no larger than maxBlock, each once, in the order the blocks list them
  const pairs = compared?.pairs ?? candidatePairs(list, maxBlock);
  if (compared && compared.vectors.length !== pairs.length) throw new Error(`${compared.vectors.length} comparison vectors for ${pairs.length} pairs`);
  const comparisons = modelComparisons(model);
  const suggestions: Record<PairKey, Suggestion> = {};
  // a pair's key (a new string, made a property key) only where it is looked up: rejections, if any, and suggestions
  const anyRejected = Object.keys(rejected).length > 0;
  for (let k = 0; k < pairs.length; k++) {
    const [i, j] = pairs[k]!;
    // ids are sorted and i < j: a before b
    const a = ids[i]!;
    const b = ids[j]!;
    if (anyRejected && rejected[pairKey(a, b)]) continue;
    const vector = compared ? compared.vectors[k]! : compareRecords(list[i]!, list[j]!, comparisons);
    // verdictOf's first test, on the weight alone: below review, no score is made
    if (probabilityOf(weightOfVector(model, comparisons, vector)) < model.reviewThreshold) continue;
    const key = pairKey(a, b);
    const score = withNotScored(model, scoreVector(model, comparisons, vector), list[i]!, list[j]!);
    const verdict = verdictOf(model, score);
    if (verdict !== 'none') suggestions[key] = { customerIds: [a, b], score, verdict: verdict === 'auto_merge' && autoMergeUndone[key] ? 'review' : verdict };
  }
  return { records: { ...records }, blocks, suggestions, rejected, autoMergeUndone };
};

type CustomerEntry = Extract<MatchBookEntry, { type: 'customer' }>;
type BlockEntry = Extract<MatchBookEntry, { type: 'block' }>;

const others = (pairs: Readonly<Record<PairKey, true>>, id: string): string[] =>
  Object.keys(pairs)
    .filter((k) => names(k, id))
    .map((k) => k.split(' ').find((x) => x !== id) ?? id)
    .sort();

/** One customer's stored entry: its record, its suggestions best first and the decisions naming it. */
export const customerEntryOf = (book: MatchBook, id: string): CustomerEntry => ({
  type: 'customer',
  ...(book.records[id] ? { record: book.records[id] } : {}),
  suggestions: suggestionsFor(book, id),
  rejected: others(book.rejected, id),
  autoMergeUndone: others(book.autoMergeUndone, id),
});

/** True when an entry holds nothing: no record, no suggestion, no decision. */
export const isEmptyEntry = (e: CustomerEntry): boolean =>
  e.record === undefined && e.suggestions.length === 0 && e.rejected.length === 0 && e.autoMergeUndone.length === 0;

/**
 * A part of the book from stored entries: the records, suggestions and decisions of the customers
 * given, and the blocks given. `evolveBook` over it changes exactly what it would change over the
 * whole book, as long as it holds the changed customer, every customer sharing a pair with it and
 * every block its old and new records fall in (and, for a new record, every customer in those).
 */
export const bookOfEntries = (customers: ReadonlyMap<string, CustomerEntry>, blocks: readonly BlockEntry[]): MatchBook => {
  const records: Record<string, MatchRecord> = {};
  const suggestions: Record<PairKey, Suggestion> = {};
  const rejected: Record<PairKey, true> = {};
  const autoMergeUndone: Record<PairKey, true> = {};
  for (const [id, e] of customers) {
    if (e.record) records[id] = e.record;
    for (const s of e.suggestions) suggestions[pairKey(...s.customerIds)] = s;
    for (const o of e.rejected) rejected[pairKey(id, o)] = true;
    for (const o of e.autoMergeUndone) autoMergeUndone[pairKey(id, o)] = true;
  }
  const blockMap: Record<string, readonly string[]> = {};
  for (const b of blocks) if (b.ids.length > 0) blockMap[b.key] = sortedDistinct(b.ids) ? b.ids : [...new Set(b.ids)].sort();
  return { records, blocks: blockMap, suggestions, rejected, autoMergeUndone };
};

/** Every customer named anywhere in the book: records, suggestions and decisions. */
export const customersOf = (book: MatchBook): readonly string[] => {
  const ids = new Set(Object.keys(book.records));
  for (const k of [...Object.keys(book.suggestions), ...Object.keys(book.rejected), ...Object.keys(book.autoMergeUndone)])
    for (const x of k.split(' ')) ids.add(x);
  return [...ids].sort();
};

/** Every customer's entry at once, in one pass over the book (a rebuild); or, given `only`, the entries of those among them. */
export const customerEntriesOf = (book: MatchBook, only?: ReadonlySet<string>): ReadonlyMap<string, CustomerEntry> => {
  const byId = new Map<string, { suggestions: Suggestion[]; rejected: string[]; autoMergeUndone: string[] }>();
  const of = (id: string) => byId.get(id) ?? byId.set(id, { suggestions: [], rejected: [], autoMergeUndone: [] }).get(id)!;
  for (const id of Object.keys(book.records)) of(id);
  for (const s of Object.values(book.suggestions)) for (const id of s.customerIds) of(id).suggestions.push(s);
  for (const [pairs, field] of [
    [book.rejected, 'rejected'],
    [book.autoMergeUndone, 'autoMergeUndone'],
  ] as const)
    for (const k of Object.keys(pairs)) {
      const [a, b] = k.split(' ') as [string, string];
      of(a)[field].push(b);
      of(b)[field].push(a);
    }
  const out = new Map<string, CustomerEntry>();
  for (const id of [...byId.keys()].sort()) {
    if (only && !only.has(id)) continue;
    const e = byId.get(id)!;
    out.set(id, {
      type: 'customer',
      ...(book.records[id] ? { record: book.records[id] } : {}),
      suggestions: e.suggestions.sort(bestFirst),
      rejected: e.rejected.sort(),
      autoMergeUndone: e.autoMergeUndone.sort(),
    });
  }
  return out;
};
