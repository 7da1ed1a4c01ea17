import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { candidatePairs } from '../../src/domain/matching/blocking.js';
import { fitModel } from '../../src/domain/matching/estimate.js';
import { type MatchField, type MatchRecord, normaliseRecord } from '../../src/domain/matching/match-record.js';
import { DEFAULT_THRESHOLDS, type MatchModel, scorePair } from '../../src/domain/matching/match-model.js';

// Labelled linkage data and pairwise measurement, shared by the matching quality test and the bench.

export type Labelled = { readonly entity: string; readonly record: MatchRecord };

const FIXTURES = new URL('../fixtures/linkage/', import.meta.url);

/** One FEBRL file: the entity is the `rec-N` part of the id; soc_sec_id becomes the national id. */
export const loadFebrl = (n: 1 | 2 | 3, opts: { nationalId: boolean } = { nationalId: true }): readonly Labelled[] => {
  const rows: Record<string, string>[] = parse(readFileSync(new URL(`febrl-dataset${n}.csv`, FIXTURES)), { columns: true, trim: true });
  return rows.map((r) => ({
    entity: r.rec_id!.split('-').slice(0, 2).join('-'),
    record: normaliseRecord({
      givenName: r.given_name,
      surname: r.surname,
      dateOfBirth: r.date_of_birth,
      street: [r.street_number, r.address_1].filter(Boolean).join(' '),
      postcode: r.postcode,
      city: r.suburb,
      ...(opts.nationalId ? { nationalId: r.soc_sec_id } : {}),
    }),
  }));
};

export const fitOn = (data: readonly Labelled[], opts: { version: string; fields?: readonly MatchField[]; seed?: number }): MatchModel => {
  const records = data.map((d) => d.record);
  return fitModel({
    version: opts.version,
    records,
    candidates: candidatePairs(records),
    seed: opts.seed ?? 19,
    randomPairs: 50_000,
    iterations: 30,
    ...(opts.fields ? { fields: opts.fields } : {}),
    ...DEFAULT_THRESHOLDS,
  });
};

export type Scored = { readonly probability: number; readonly same: boolean };

/** Every blocked candidate pair, scored, with its truth; and how many true pairs the data holds. */
export const scoreBlocked = (model: MatchModel, data: readonly Labelled[]): { scored: readonly Scored[]; truePairs: number } => {
  const records = data.map((d) => d.record);
  const scored = candidatePairs(records).map(([i, j]) => ({
    probability: scorePair(model, records[i]!, records[j]!).probability,
    same: data[i]!.entity === data[j]!.entity,
  }));
  return { scored, truePairs: truePairCount(data) };
};

export const truePairCount = (data: readonly Labelled[]): number => {
  const sizes = new Map<string, number>();
  for (const d of data) sizes.set(d.entity, (sizes.get(d.entity) ?? 0) + 1);
  return [...sizes.values()].reduce((s, k) => s + (k * (k - 1)) / 2, 0);
};

export type Quality = { readonly threshold: number; readonly precision: number; readonly recall: number; readonly f1: number; readonly predicted: number };

export const qualityAt = (scored: readonly Scored[], truePairs: number, threshold: number): Quality => {
  const predicted = scored.filter((s) => s.probability >= threshold);
  const correct = predicted.filter((s) => s.same).length;
  return quality(threshold, predicted.length, correct, truePairs);
};

export const quality = (threshold: number, predicted: number, correct: number, truePairs: number): Quality => {
  const precision = predicted === 0 ? 1 : correct / predicted;
  const recall = truePairs === 0 ? 1 : correct / truePairs;
  return { threshold, precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall), predicted };
};

/**
 * The exact-match baseline: today's resolution links records sharing an exact normalised
 * identifier. `keys` gives a record's identifiers; a pair counts once however many it shares.
 * FEBRL's only identifier is the national id; without it, the strictest natural key (given name,
 * surname and date of birth all equal) stands in.
 */
export const exactBaseline = (data: readonly Labelled[], keys: (r: MatchRecord) => readonly (string | undefined)[]): Quality => {
  const groups = new Map<string, number[]>();
  data.forEach((d, i) =>
    keys(d.record).forEach((k, n) => {
      if (k !== undefined) (groups.get(`${n}:${k}`) ?? groups.set(`${n}:${k}`, []).get(`${n}:${k}`)!).push(i);
    }),
  );
  const pairs = new Set<number>();
  let correct = 0;
  for (const g of groups.values())
    for (let a = 0; a < g.length; a++)
      for (let b = a + 1; b < g.length; b++) {
        const code = g[a]! * data.length + g[b]!;
        if (pairs.has(code)) continue;
        pairs.add(code);
        if (data[g[a]!]!.entity === data[g[b]!]!.entity) correct++;
      }
  return quality(1, pairs.size, correct, truePairCount(data));
};

export const naturalKey = (r: MatchRecord): string | undefined =>
  r.givenName && r.surname && r.dateOfBirth ? `${r.givenName}|${r.surname}|${r.dateOfBirth}` : undefined;
