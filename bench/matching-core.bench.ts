import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueuePosition } from '../src/application/matching/match-book.projection.js';
import { blockingKeys } from '../src/domain/matching/blocking.js';
import type { MatchModel } from '../src/domain/matching/match-model.js';
import { scorePair, verdictOf } from '../src/domain/matching/match-model.js';
import { type MatchRecord, normaliseRecord } from '../src/domain/matching/match-record.js';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
import { generatePeople } from '../test/support/linkage-generator.js';
import { type BenchRow, writeReadmeTable } from './readme-table.js';

// Matching through the real core, where bench/matching.bench.ts measures the domain in process:
//
// 1. Real time: a generated population (corrupted duplicates, one user id per record, so exact
//    resolution cannot join them) arrives as Segment identify calls, one after another, through
//    the core's ingest with the stored match book kept inline (as a server keeps it), on the
//    in-memory store and on the embedded SQLite file. Reported: calls/s and the suggestions the
//    book holds at the end per second of ingest, beside the in-process domain loop (score against
//    the blocking index, then index) over the same records with the model the core fitted, in the
//    same run, as a ratio; and the same calls with their traits renamed (nothing for the book to
//    do) on a fresh store, for what the core costs without matching.
// 2. Batch: the same kind of population, MATCH_CLI_CUSTOMERS customers, written as an NDJSON file,
//    loaded into an embedded SQLite data dir by the real `c360 import`, then the real `c360 match`
//    run over it as a child process: its wall time (process start included) and candidate pairs
//    per customer.
//
// MATCH_CORE_RECORDS sizes part 1 (default 10,000), MATCH_CLI_CUSTOMERS part 2 (default 100,000;
// 0 skips it). Writes bench/results/matching-core.json and the README's matching-core block.

const TENANT = 'bench';
const ROOT = new URL('..', import.meta.url).pathname;
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const records = Number(process.env.MATCH_CORE_RECORDS ?? 10_000);
const cliCustomers = Number(process.env.MATCH_CLI_CUSTOMERS ?? 100_000);

/** a generated record as the Segment identify call a source sends (no phone: random digits are not valid numbers) */
const callOf = (r: MatchRecord, i: number) => ({
  type: 'identify',
  messageId: `m-${i}`,
  userId: `u-${i}`,
  traits: {
    ...(r.givenName && { firstName: r.givenName }),
    ...(r.surname && { lastName: r.surname }),
    ...(r.dateOfBirth && { birthday: r.dateOfBirth }),
    ...(r.email && { email: r.email }),
    address: { ...(r.street && { street: r.street }), ...(r.postcode && { postalCode: r.postcode }), ...(r.city && { city: r.city }) },
  },
});
/** the same call with its traits under names matching does not read (and no email identifier): the core's cost without the book's work */
const unmatchedCallOf = (r: MatchRecord, i: number) => {
  const { traits, ...call } = callOf(r, i);
  return { ...call, traits: Object.fromEntries(Object.entries(traits).map(([k, v]) => [`x_${k}`, v])) };
};
const population = (seed: number, size: number) => generatePeople({ seed, people: Math.round(size / 1.99) }).map((d) => d.record);

/** the domain alone: each arriving record scored against the candidates the index holds, then indexed */
const domainLoop = (model: MatchModel, list: readonly MatchRecord[]) => {
  const index = new Map<string, number[]>();
  let suggestions = 0;
  const t0 = performance.now();
  list.forEach((record, i) => {
    const keys = blockingKeys(record);
    const candidates = new Set<number>();
    for (const k of keys) for (const c of (index.get(k)?.length ?? 0) <= 200 ? (index.get(k) ?? []) : []) candidates.add(c);
    for (const c of candidates) if (verdictOf(model, scorePair(model, list[c]!, record)) !== 'none') suggestions++;
    for (const k of keys) (index.get(k) ?? index.set(k, []).get(k)!).push(i);
  });
  return { seconds: (performance.now() - t0) / 1000, suggestions };
};

const secrets = () => ({ C360_CLAIM_SECRET: randomBytes(32).toString('base64url'), C360_MASTER_KEY: randomBytes(32).toString('base64') });

const realTime = async (store: 'memory' | 'sqlite', list: readonly MatchRecord[]) => {
  const dir = mkdtempSync(join(tmpdir(), `c360-match-core-${store}-`));
  const app = await buildApp(loadConfig({ C360_STORE: store, C360_DATA_DIR: dir, C360_TENANT: TENANT, C360_PROJECTION: 'inline', ...secrets() }));
  try {
    const source = app.sourceOf(TENANT, 'crm');
    let accepted = 0;
    const t0 = performance.now();
    for (const [i, r] of list.entries()) {
      const out = await app.core.ingest.ingest(TENANT, source, callOf(r, i));
      if (out.status === 'accepted') accepted++;
    }
    const seconds = (performance.now() - t0) / 1000;
    let suggestions = 0;
    let after: QueuePosition | undefined;
    do {
      const page = await app.core.matching.queue(TENANT, { after, limit: 500 });
      suggestions += page.suggestions.length;
      after = page.next;
    } while (after !== undefined);
    const model = await app.core.matchBook.model(TENANT);
    // the same records as the views hold them (no phone), through the domain loop with the core's model, in the same run
    const domain = domainLoop(
      model,
      list.map((r) => normaliseRecord({ ...r, phone: undefined })),
    );
    return { store, calls: list.length, accepted, seconds, suggestions, modelVersion: model.version, domain, withoutBook: await withoutBook(store, list) };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

/** the same calls, traits renamed so that the book has nothing to do, on a fresh store of the same kind */
const withoutBook = async (store: 'memory' | 'sqlite', list: readonly MatchRecord[]) => {
  const dir = mkdtempSync(join(tmpdir(), `c360-match-core-${store}-`));
  const app = await buildApp(loadConfig({ C360_STORE: store, C360_DATA_DIR: dir, C360_TENANT: TENANT, C360_PROJECTION: 'inline', ...secrets() }));
  try {
    const source = app.sourceOf(TENANT, 'crm');
    const t0 = performance.now();
    for (const [i, r] of list.entries()) await app.core.ingest.ingest(TENANT, source, unmatchedCallOf(r, i));
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

const c360 = (dir: string, args: readonly string[]) => {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, ['--max-semi-space-size=64', join(ROOT, 'bin/c360.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, C360_DATA_DIR: dir, C360_TENANT: TENANT },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`c360 ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return { seconds, json: JSON.parse(run.stdout) as Record<string, unknown> };
};

const batch = (size: number) => {
  const dir = mkdtempSync(join(tmpdir(), 'c360-match-cli-'));
  try {
    const file = join(dir, 'people.ndjson');
    const list = population(5, size);
    writeFileSync(file, `${list.map((r, i) => JSON.stringify(callOf(r, i))).join('\n')}\n`);
    const load = c360(dir, ['import', file, '--source', 'crm', '--concurrency', '16', '--json']);
    const match = c360(dir, ['match', '--json', '--limit', '1']);
    return {
      calls: list.length,
      importSeconds: load.seconds,
      imported: { accepted: load.json.accepted, rejected: load.json.rejected, duplicate: load.json.duplicate, elapsedMs: load.json.elapsedMs },
      matchSeconds: match.seconds,
      customers: match.json.customers as number,
      candidatePairs: match.json.candidatePairs as number,
      suggestions: match.json.suggestions as number,
      modelVersion: match.json.modelVersion as string,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const loadAtStart = load();
const list = population(4, records);
const real = [];
for (const store of ['memory', 'sqlite'] as const) {
  const r = await realTime(store, list);
  console.log(r);
  real.push(r);
}
const cli = cliCustomers > 0 ? batch(cliCustomers) : undefined;
if (cli) console.log(cli);

const result = { at: new Date().toISOString(), node: process.version, realTime: real, cli };
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/matching-core.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);

const rows: BenchRow[] = [];
for (const r of real) {
  const domainRate = r.calls / r.domain.seconds;
  rows.push({
    name: `real time through the core, ${r.store} store, match book inline: identify calls of ${r.calls.toLocaleString('en-US')} generated records`,
    value: Math.round(r.calls / r.seconds),
    unit: 'calls/s',
    note: `${r.accepted.toLocaleString('en-US')} accepted in ${round(r.seconds, 1)} s, the model fitted again as the tenant doubled (to ${r.modelVersion.replace(/.*-on-/, '')} records); the same calls with traits matching does not read: ${Math.round(r.calls / r.withoutBook.seconds).toLocaleString('en-US')} calls/s; in-process domain loop on the same records, same run: ${Math.round(domainRate).toLocaleString('en-US')} records/s (core / domain = ${round(r.calls / r.seconds / domainRate, 4)})`,
  });
  rows.push({
    name: `suggestions made in real time through the core, ${r.store} store`,
    value: round(r.suggestions / r.seconds, 1),
    unit: 'suggestions/s',
    note: `${r.suggestions.toLocaleString('en-US')} suggestions held by the book at the end (model ${r.modelVersion}); domain loop: ${round(r.domain.suggestions / r.domain.seconds, 1).toLocaleString('en-US')} suggestions/s (${r.domain.suggestions.toLocaleString('en-US')} made)`,
  });
}
if (cli) {
  rows.push({
    name: `\`c360 match\` over ${cli.customers.toLocaleString('en-US')} customers in an embedded SQLite data dir (the real CLI, a child process)`,
    value: round(cli.matchSeconds, 1),
    unit: 's',
    note: `wall time, process start included; ${cli.suggestions.toLocaleString('en-US')} suggestions, model ${cli.modelVersion}; the data dir loaded by \`c360 import\` of ${cli.calls.toLocaleString('en-US')} identify calls in ${round(cli.importSeconds, 1)} s`,
  });
  rows.push({
    name: `candidate pairs per customer after blocking, \`c360 match\` over ${cli.customers.toLocaleString('en-US')} customers`,
    value: round(cli.candidatePairs / cli.customers),
    unit: 'pairs',
    note: `${cli.candidatePairs.toLocaleString('en-US')} candidate pairs`,
  });
}
writeReadmeTable(
  'matching-core',
  rows,
  `Measured ${result.at} on Node ${result.node} by \`npm run bench:matching-core\` (MATCH_CORE_RECORDS=${records}, MATCH_CLI_CUSTOMERS=${cliCustomers}; bench/results/matching-core.json), on a shared two-core machine: load average ${loadAtStart} at the start, ${load()} at the end.`,
);
console.log('written to bench/results/matching-core.json and the README');
