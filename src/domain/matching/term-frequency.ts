import { emailLocalKey, phoneLast6Key } from './blocking.js';
import type { MatchField, MatchRecord } from './match-record.js';
import type { Suggestion } from './match-book.js';
import { type FieldWeight, type MatchModel, type MatchScore, probabilityOf, verdictOf } from './match-model.js';

// Term-frequency adjustment, as Splink makes it: the u of an agreement on one value (how often two
// different people agree on it by chance) is that value's frequency in the data rather than the
// level's average, so a generic email local part (`info`, `sales`) or a six-digit phone ending
// many records share weighs little, and an uncommon one weighs what the model says.
//
// The frequency is counted in the match book's own records: the blocking entry of the value lists
// every record holding it. A level's u, estimated from random pairs, stands for an agreement on a
// value as common as the values records agree on, which in a tenant's data is a value held by the
// two records of one person; a value held by k records is k/2 times as common (Splink's u for the
// value, its frequency k/N, against 2/N), so its weight is the level's minus log2(k/2). The ratio
// needs no count of the tenant's records, so a small tenant (whose u is mostly smoothing) is not
// made to distrust every value it holds twice. A weight is only ever lowered: a value held by the
// pair alone keeps the model's weight (Splink would raise it for a value rarer than the average,
// which would let one rare field alone carry a pair further, the opposite of what this is for).

/** The levels adjusted: an agreement on one value whose holders a blocking key lists. */
export const TERM_FREQUENCY_LEVELS: Readonly<Partial<Record<MatchField, { readonly level: string; readonly key: (r: MatchRecord) => string | undefined }>>> = {
  email: { level: 'same_local_part', key: emailLocalKey },
  phone: { level: 'same_last_6_digits', key: phoneLast6Key },
};

/** The blocking key whose entry counts the holders of the value this field weight agreed on, for a record of the pair; undefined for a level not adjusted. */
export const termFrequencyKey = (f: Pick<FieldWeight, 'field' | 'level'>, record: MatchRecord): string | undefined => {
  const t = TERM_FREQUENCY_LEVELS[f.field];
  return t && t.level === f.level ? t.key(record) : undefined;
};

/** log2 of how much more common a value held by `holders` records is than one held by a pair: what its weight loses (0 for two or fewer). */
export const frequencyPenalty = (holders: number): number => (holders > 2 ? Math.log2(holders / 2) : 0);

/**
 * The score with each adjusted level's weight lowered for how many records hold the value it agreed
 * on (`holdersOf` answers the count for a field weight, or undefined where it is not adjusted or not
 * known), the total weight and probability with it. Each field lowered says how many records hold
 * its value (`holders`, more than two). The same score when nothing is lowered.
 */
export const adjustForFrequency = (score: MatchScore, holdersOf: (f: FieldWeight) => number | undefined): MatchScore => {
  let weight = score.weight;
  let changed = false;
  const fields = score.fields.map((f): FieldWeight => {
    const holders = holdersOf(f);
    // a value held by the pair alone (or unknown) keeps the model's weight, unannotated
    if (holders === undefined || holders <= 2) return f;
    changed = true;
    const penalty = frequencyPenalty(holders);
    weight -= penalty;
    return { ...f, weight: f.weight - penalty, holders };
  });
  return changed ? { ...score, weight, probability: probabilityOf(weight), fields } : score;
};

/**
 * A stored suggestion as it is answered: its score adjusted for term frequency, and its verdict
 * made again (an undone auto-merge stays for review); undefined once it no longer reaches the
 * review threshold, or rests on one field alone (`verdictOf`). The book stores scores without the
 * adjustment (a value's holders change as other customers come and go, and the stored pairs must
 * not depend on their order), and a weight is only ever lowered by it: every pair it answers is
 * among the stored ones.
 */
export const answerSuggestion = (model: MatchModel, s: Suggestion, holdersOf: (f: FieldWeight) => number | undefined): Suggestion | undefined => {
  const score = adjustForFrequency(s.score, holdersOf);
  const verdict = verdictOf(model, score);
  if (verdict === 'none') return undefined;
  const kept = verdict === 'auto_merge' && s.verdict === 'review' ? 'review' : verdict;
  return score === s.score && kept === s.verdict ? s : { ...s, score, verdict: kept };
};
