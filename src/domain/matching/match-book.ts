import { blockingKeys } from './blocking.js';
import type { MatchRecord } from './match-record.js';
import { type MatchModel, type MatchScore, scorePair, verdictOf } from './match-model.js';

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

const names = (key: PairKey, id: string) => key.split(' ').includes(id);

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

/** The customers sharing a blocking key with this record, itself excluded, sorted. */
export const candidatesOf = (book: MatchBook, id: string, record: MatchRecord, maxBlock = 200): readonly string[] => {
  const out = new Set<string>();
  for (const k of blockingKeys(record)) {
    const ids = book.blocks[k] ?? [];
    if (ids.length <= maxBlock) for (const x of ids) if (x !== id) out.add(x);
  }
  return [...out].sort();
};

const index = (book: MatchBook, id: string, record: MatchRecord, model: MatchModel): MatchBook => {
  const suggestions = { ...book.suggestions };
  for (const other of candidatesOf(book, id, record)) {
    const key = pairKey(id, other);
    if (book.rejected[key]) continue;
    const [a, b] = id < other ? [id, other] : [other, id];
    const score = scorePair(model, book.records[a]!, book.records[b]!);
    const verdict = verdictOf(model, score);
    if (verdict === 'none') continue;
    suggestions[key] = { customerIds: [a, b], score, verdict: verdict === 'auto_merge' && book.autoMergeUndone[key] ? 'review' : verdict };
  }
  const blocks = { ...book.blocks };
  for (const k of blockingKeys(record)) blocks[k] = [...(blocks[k] ?? []), id].sort();
  return { ...book, records: { ...book.records, [id]: record }, blocks, suggestions };
};

export const evolveBook = (model: MatchModel, book: MatchBook, change: MatchChange): MatchBook => {
  switch (change.type) {
    case 'RecordChanged': {
      const rest = unindex(book, change.customerId);
      return index({ ...rest, records: { ...rest.records, [change.customerId]: change.record } }, change.customerId, change.record, model);
    }
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

/** A customer's suggestions, best first (ties by the other customer's id). */
export const suggestionsFor = (book: MatchBook, id: string): readonly Suggestion[] =>
  Object.entries(book.suggestions)
    .filter(([k]) => names(k, id))
    .map(([, s]) => s)
    .sort((x, y) => y.score.weight - x.score.weight || (x.customerIds.join(' ') < y.customerIds.join(' ') ? -1 : 1));

/** The merges to make for a customer: none unless the tenant turned auto-merge on. */
export const autoMergesFor = (book: MatchBook, id: string, autoMerge: boolean): readonly Suggestion[] =>
  autoMerge ? suggestionsFor(book, id).filter((s) => s.verdict === 'auto_merge') : [];
