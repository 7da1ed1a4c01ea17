import { mkdirSync, writeFileSync } from 'node:fs';
import { blockingKeys, candidatePairs } from '../src/domain/matching/blocking.js';
import type { MatchModel } from '../src/domain/matching/match-model.js';
import { scorePair, verdictOf } from '../src/domain/matching/match-model.js';
import { generatePeople } from '../test/support/linkage-generator.js';
import { exactBaseline, fitOn, type Labelled, loadFebrl, naturalKey, type Quality, qualityAt, scoreBlocked } from '../test/support/linkage.js';
import { type BenchRow, writeReadmeTable } from './readme-table.js';

// Probabilistic matching, measured: pairwise precision, recall and F1 at each threshold against
// the exact-match baseline in the same run, always on data the model was not fitted on (fitted on
// FEBRL set 1, reported on sets 2 and 3; fitted on one generated population, reported on another),
// then the cost at 100,000 customers. Writes bench/results/matching.json, prints a table and
// fills the README's matching block. MATCH_BENCH_CUSTOMERS scales the timing part.

const THRESHOLDS = [0.5, 0.9, 0.99, 0.999, 0.9999];
const round = (x: number) => Math.round(x * 10_000) / 10_000;
type Line = { data: string; method: string } & Quality;
const lines: Line[] = [];

const measure = (label: string, model: MatchModel, data: readonly Labelled[], baseline: Quality) => {
  const { scored, truePairs } = scoreBlocked(model, data);
  lines.push({ data: label, method: 'exact identifiers (baseline)', ...baseline });
  for (const t of THRESHOLDS) {
    const tag = t === model.reviewThreshold ? ' (review)' : t === model.autoMergeThreshold ? ' (auto-merge)' : '';
    lines.push({ data: label, method: `model p >= ${t}${tag}`, ...qualityAt(scored, truePairs, t) });
  }
};

for (const nationalId of [true, false]) {
  const model = fitOn(loadFebrl(1, { nationalId }), { version: `febrl-1${nationalId ? '' : '-no-ssn'}` });
  for (const n of [2, 3] as const) {
    const data = loadFebrl(n, { nationalId });
    measure(
      `FEBRL ${n}${nationalId ? '' : ', no soc_sec_id'}`,
      model,
      data,
      exactBaseline(data, (r) => [nationalId ? r.nationalId : naturalKey(r)]),
    );
  }
}
const generatedModel = fitOn(generatePeople({ seed: 1, people: 5_000 }), { version: 'generated-1' });
const heldOut = generatePeople({ seed: 2, people: 10_000 });
measure(
  `generated, ${heldOut.length.toLocaleString('en-US')} records`,
  generatedModel,
  heldOut,
  exactBaseline(heldOut, (r) => [r.email, r.phone]),
);

// cost at scale: a generated population of about MATCH_BENCH_CUSTOMERS records
const target = Number(process.env.MATCH_BENCH_CUSTOMERS ?? 100_000);
const big = generatePeople({ seed: 3, people: Math.round(target / 1.99) }).map((d) => d.record);
let t0 = performance.now();
const pairs = candidatePairs(big);
let batchSuggestions = 0;
for (const [i, j] of pairs) if (verdictOf(generatedModel, scorePair(generatedModel, big[i]!, big[j]!)) !== 'none') batchSuggestions++;
const batchSeconds = (performance.now() - t0) / 1000;

// real time: each arriving record is scored against the candidates the index holds, then indexed
const index = new Map<string, number[]>();
let realtimeSuggestions = 0;
t0 = performance.now();
big.forEach((record, i) => {
  const keys = blockingKeys(record);
  const candidates = new Set<number>();
  for (const k of keys) for (const c of (index.get(k)?.length ?? 0) <= 200 ? (index.get(k) ?? []) : []) candidates.add(c);
  for (const c of candidates) if (verdictOf(generatedModel, scorePair(generatedModel, big[c]!, record)) !== 'none') realtimeSuggestions++;
  for (const k of keys) (index.get(k) ?? index.set(k, []).get(k)!).push(i);
});
const realtimeSeconds = (performance.now() - t0) / 1000;

const cost = {
  records: big.length,
  candidatePairs: pairs.length,
  candidatePairsPerRecord: round(pairs.length / big.length),
  batchSeconds: round(batchSeconds),
  batchSuggestions,
  realtimeRecordsPerSecond: Math.round(big.length / realtimeSeconds),
  realtimeSuggestions,
};
const result = {
  at: new Date().toISOString(),
  node: process.version,
  quality: lines.map((l) => ({ ...l, precision: round(l.precision), recall: round(l.recall), f1: round(l.f1) })),
  cost,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/matching.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);

console.log('| data | method | precision | recall | F1 | pairs predicted |\n| --- | --- | --- | --- | --- | --- |');
for (const l of result.quality) console.log(`| ${l.data} | ${l.method} | ${l.precision} | ${l.recall} | ${l.f1} | ${l.predicted} |`);
console.log(cost);

const quality = (data: string, method: string) => result.quality.find((l) => l.data === data && l.method.startsWith(method))!;
const rows: BenchRow[] = [];
for (const data of [...new Set(result.quality.map((l) => l.data))]) {
  const review = quality(data, 'model p >= 0.9 ');
  const auto = quality(data, 'model p >= 0.9999');
  const base = quality(data, 'exact');
  const noSsn = data.includes('no soc_sec_id') || data.startsWith('generated');
  rows.push({ name: `${data}: exact-match baseline F1`, value: base.f1, unit: 'F1', note: `precision ${base.precision}, recall ${base.recall}` });
  rows.push({
    name: `${data}: review threshold (p >= 0.9) F1`,
    value: review.f1,
    unit: 'F1',
    goal: noSsn ? '>= 0.85' : '>= 0.95, precision >= 0.95',
    pass: noSsn ? review.f1 >= 0.85 : review.f1 >= 0.95 && review.precision >= 0.95,
    note: `precision ${review.precision}, recall ${review.recall}`,
  });
  rows.push({
    name: `${data}: auto-merge threshold (p >= 0.9999) precision`,
    value: auto.precision,
    unit: 'precision',
    goal: '>= 0.99',
    pass: auto.precision >= 0.99,
    note: `recall ${auto.recall}`,
  });
}
rows.push({
  name: `candidate pairs per record after blocking (${cost.records.toLocaleString('en-US')} records)`,
  value: cost.candidatePairsPerRecord,
  unit: 'pairs',
});
rows.push({ name: `batch scan of ${cost.records.toLocaleString('en-US')} records (blocking + scoring, in process)`, value: cost.batchSeconds, unit: 's' });
rows.push({ name: 'real-time scoring of arriving records against the index (in process)', value: cost.realtimeRecordsPerSecond, unit: 'records/s' });
writeReadmeTable('matching', rows, `Measured ${result.at} on Node ${result.node} by \`npm run bench:matching\` (bench/results/matching.json).`);
console.log('written to bench/results/matching.json and the README');
