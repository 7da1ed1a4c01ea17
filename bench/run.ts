import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CustomerRepository } from '../src/application/customers/customer.repository.js';
import { ScratchDocs } from '../src/application/projection/rebuild.use-case.js';
import { generateDataset } from '../src/infrastructure/demo/dataset.js';
import { startDynamoDbLocal } from '../src/infrastructure/local/dynamodb-local.js';
import { makeHarness } from '../test/support/harness.js';
import { harnessAfter } from './dataset-harness.js';
import { runDynamoDbBench } from './dynamodb.bench.js';
import { runDynamoDbBatchBench } from './dynamodb-batch.bench.js';
import { runLagBench } from './dynamodb-lag.bench.js';
import { measureColdStart } from './cold-start.js';
import { measureEmbeddedLambda } from './embedded-lambda.js';
import { runHttpBench } from './http.bench.js';
import { runErasureBench } from './erasure.bench.js';
import { runEngagementBench } from './engagement.bench.js';
import { runSqliteBench } from './sqlite.bench.js';
import { writeReadmeTable } from './readme-table.js';
import { runLoneCallBench } from './lone-call.bench.js';
import { runPeersBench } from './peers.bench.js';
import { runCeiling, storedRows } from './rebuild-ceiling.js';

// npm run bench: the in-memory pipeline's speed on a generated data set, then the DynamoDB adapters
// on DynamoDB Local against Castore in the same run. Prints a table and writes
// bench/results/latest.json. BENCH_CUSTOMERS scales the data set (default 5,000 people),
// BENCH_REBUILD_RUNS the full rebuilds (default 5, each after its ceiling run);
// BENCH_DYNAMODB=0 skips the DynamoDB part (it needs Java 17), BENCH_HTTP=0 the HTTP load test,
// BENCH_COLD_START=0 the Lambda cold starts, BENCH_EMBEDDED=0 the embedded user Lambda, BENCH_SQLITE=0 the embedded store, BENCH_PEERS=0 the
// in-memory event stores of Castore and Emmett against ours (npm run bench:peers runs that alone).

type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };
const rows: Row[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const customers = Number(process.env.BENCH_CUSTOMERS ?? 5_000);
const rebuildRuns = Number(process.env.BENCH_REBUILD_RUNS ?? 5);
const tenant = 'bench';

// 1. ingest: parse, normalize, resolve, encrypt, commit, project inline
{
  const { calls, stats } = generateDataset({ customers, ordersPerCustomer: 10, eventsPerCustomer: 20 });
  const h = harnessAfter(calls);
  // warm up the JIT on a separate tenant so the measured run starts hot
  for (const c of calls.slice(0, 2_000)) await h.core.ingest.ingest('warmup', h.web, c);
  const outcomes: Record<string, number> = {};
  const t0 = performance.now();
  for (const c of calls) {
    const { status } = await h.core.ingest.ingest(tenant, h.web, c);
    outcomes[status] = (outcomes[status] ?? 0) + 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  // the stored events as a row store holds them: the rebuild's ceiling below, and their count
  const stored = await storedRows(h.ports.store, tenant);
  console.log(
    `data set: ${calls.length} calls, ${stats.people} people, ${stats.orders} orders, ${stats.events} page/track events, ${stats.duplicates} duplicates, ${stats.invalid} invalid; ${stored.length} stored events`,
  );
  const rate = calls.length / seconds;
  rows.push({
    name: 'ingest pipeline (parse, resolve, commit, project)',
    value: Math.round(rate),
    unit: 'calls/s',
    goal: '>= 30,000',
    pass: rate >= 30_000,
    note: `${stored.length} stored events, ${Math.round(stored.length / seconds)} stored events/s; outcomes ${Object.entries(outcomes)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')} (the data set holds ${stats.invalid} invalid calls and ${stats.duplicates} duplicates on purpose)`,
  });

  // 2. full rebuild from the log, with decryption, into a fresh generation, taking turns with its
  // ceiling (JSON.parse and a trivial fold of the same stored events, none of our code)
  const rebuildRates: number[] = [];
  const ceilingRates: number[] = [];
  const ratios: number[] = [];
  let last = { events: 0, docs: 0, seconds: 0 };
  for (let run = 0; run < rebuildRuns; run++) {
    const ceiling = runCeiling(stored).wall;
    const r0 = performance.now();
    const rebuilt = await h.core.rebuild.rebuild(tenant);
    const rs = (performance.now() - r0) / 1000;
    last = { events: rebuilt.events, docs: rebuilt.docs, seconds: rs };
    rebuildRates.push(rebuilt.events / rs);
    ceilingRates.push(ceiling);
    ratios.push(rebuilt.events / rs / ceiling);
  }
  const rrate = median(rebuildRates);
  const spread = (xs: number[], f = (n: number) => Math.round(n).toLocaleString('en-US')) => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
  rows.push({
    name: 'full projection rebuild (decrypt + fold)',
    value: Math.round(rrate),
    unit: 'events/s',
    goal: '>= 300,000',
    pass: rrate >= 300_000,
    note: `median of ${rebuildRuns} runs, spread ${spread(rebuildRates)}; ${median(ratios).toFixed(2)}x the ceiling (per run ${spread(ratios, (n) => n.toFixed(2))}); ${last.events} events, ${last.docs} docs in ${last.seconds.toFixed(2)} s`,
  });
  rows.push({
    name: 'rebuild ceiling: JSON.parse + trivial fold of the same stored events',
    value: Math.round(median(ceilingRates)),
    unit: 'events/s',
    note: `same run, taking turns with the rebuild; spread ${spread(ceilingRates)}`,
  });
}

// 3. loading one customer with 1,000 events
{
  const h = makeHarness();
  const { calls } = generateDataset({ customers: 1, ordersPerCustomer: 0, eventsPerCustomer: 0, noise: false, seed: 9 });
  for (const c of calls) await h.core.ingest.ingest(tenant, h.web, c);
  const first = calls[0] as { anonymousId: string };
  for (let i = 0; i < 1_000; i++) {
    const kind = i % 3;
    const call =
      kind === 0
        ? {
            type: 'track',
            event: 'Order Completed',
            anonymousId: first.anonymousId,
            messageId: `load-${i}`,
            properties: { order_id: `o${i}`, revenue: 10 + (i % 50), currency: 'USD' },
          }
        : kind === 1
          ? { type: 'page', name: 'Home', anonymousId: first.anonymousId, messageId: `load-${i}`, context: { ip: '203.0.113.9' } }
          : { type: 'track', event: 'Product Viewed', anonymousId: first.anonymousId, messageId: `load-${i}`, properties: { category: 'electronics' } };
    await h.core.ingest.ingest(tenant, h.web, call);
    h.clock.advance(60_000);
  }
  const found = await h.core.queries.findByIdentifier(tenant, 'anonymous_id', first.anonymousId);
  if (found.kind !== 'view') throw new Error('bench customer not found');
  const id = found.customer.customerId;
  const events = (await h.ports.store.readStream(tenant, id)).length;
  const aggregate: number[] = [];
  const view: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    await new CustomerRepository(h.ports.store).load(tenant, id);
    aggregate.push((performance.now() - t0) * 1000);
    const t1 = performance.now();
    await h.core.projector.recompute(tenant, id, new ScratchDocs());
    view.push((performance.now() - t1) * 1000);
  }
  const skip = 50; // JIT warm-up
  const a = aggregate.slice(skip);
  const v = view.slice(skip);
  rows.push({
    name: `load aggregate (${events} events, identity fold, no cache)`,
    value: Math.round(quantile(a, 0.5)),
    unit: 'us median',
    note: `p99 ${Math.round(quantile(a, 0.99))} us`,
  });
  rows.push({
    name: `load 360 view from the log (${events} events, decrypt + fold)`,
    value: Math.round(quantile(v, 0.5)),
    unit: 'us median',
    note: `p99 ${Math.round(quantile(v, 0.99))} us`,
  });
}

// 3b. our in-memory event store against Castore's and Emmett's, same workload, same run
if (process.env.BENCH_PEERS !== '0') rows.push(...(await runPeersBench()));

// 4. HTTP ingest over loopback against a bare node:http ceiling, same run
if (process.env.BENCH_HTTP !== '0') rows.push(...(await runHttpBench()));

// 4b. the embedded default (SQLite, durable) against the memory store, same run; seed; rebuild
if (process.env.BENCH_SQLITE !== '0') rows.push(...(await runSqliteBench()), ...(await runLoneCallBench()));

// 5. Lambda cold start: a fresh node importing each bundle, as a ratio to `node -e 0`
if (process.env.BENCH_COLD_START !== '0') {
  for (const r of await measureColdStart()) {
    if (r.name === 'node -e 0')
      rows.push({ name: 'cold start baseline: node -e 0', value: Math.round(r.medianMs), unit: 'ms median', note: `CPU time ${Math.round(r.cpuMedianMs)} ms` });
    else {
      // the plain start is the goal's; the compile-cache rows say what NODE_COMPILE_CACHE would change
      const plain = r.compileCache === undefined && !r.firstRequest;
      const note = `${r.ratio.toFixed(2)}x (rounds ${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)}x); CPU time ${Math.round(r.cpuMedianMs)} ms, ${r.cpuRatio.toFixed(2)}x the baseline's${r.loaded ? `; loads ${r.loaded.files} files, ${Math.round(r.loaded.bytes / 1000)} kB` : ''}`;
      rows.push({
        name: r.firstRequest
          ? `cold start: dist/lambda/${r.name.replace(/^(\w+), /, '$1.mjs, ')}`
          : `cold start: import dist/lambda/${r.name.replace(/^(\w+)/, '$1.mjs')}`,
        value: Math.round(r.medianMs),
        unit: 'ms median',
        ...(plain ? { goal: '<= 2.5x node -e 0', pass: r.ratio <= 2.5 } : {}),
        note,
      });
    }
  }
}

// 5b. a user's own Lambda embedding the core from the packed package: its size and cold import
if (process.env.BENCH_EMBEDDED !== '0') {
  const { bytes, files, rows: starts } = measureEmbeddedLambda();
  const base = starts.find((r) => r.name === 'node -e 0')!;
  const user = starts.find((r) => r.name !== 'node -e 0')!;
  rows.push({ name: 'embedded user Lambda bundle (npm pack, esbuild)', value: Math.round(bytes / 1000), unit: 'kB', note: `${files} files, minified` });
  rows.push({
    name: 'cold start: import the embedded user Lambda',
    value: Math.round(user.medianMs),
    unit: 'ms median',
    note: `${user.ratio.toFixed(2)}x node -e 0 (${Math.round(base.medianMs)} ms; rounds ${user.ratioMin.toFixed(2)}-${user.ratioMax.toFixed(2)}x); CPU time ${user.cpuRatio.toFixed(2)}x`,
  });
}

// 6. DynamoDB Local: appends (ours vs Castore, same run) and stream-to-view lag; then /v1/batch on
// its own DynamoDB Local on disk against the same run's ceiling, with requests per call
if (process.env.BENCH_DYNAMODB !== '0') {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  // each on a DynamoDB Local of its own: it keeps all streams' records in one table, and a table
  // whose stream began after another's pays a scan of the other's records on every write
  // (bench/dynamodb-batch.bench.ts says more), so a bench run after another would be slowed by it
  for (const bench of [runDynamoDbBench, runLagBench, runErasureBench]) {
    const dynamo = await startDynamoDbLocal();
    try {
      rows.push(...(await bench(dynamo.endpoint)));
    } finally {
      await dynamo.stop();
    }
  }
  rows.push(...(await runDynamoDbBatchBench()));
}

// 7. engagement: ingest of an interest event to the SNS publish acknowledged (fauxqs, in-memory store)
if (process.env.BENCH_ENGAGEMENT !== '0') rows.push(...(await runEngagementBench()));

// 8. erasure latency (the DynamoDB part runs in section 6 when it is on)
if (process.env.BENCH_DYNAMODB === '0') rows.push(...(await runErasureBench()));

const result = { at: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, customers, rows };
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.table(
  rows.map((r) => ({
    benchmark: r.name,
    value: r.value.toLocaleString('en-US'),
    unit: r.unit,
    goal: r.goal ?? '',
    met: r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
    note: r.note ?? '',
  })),
);
const skipped = ['DYNAMODB', 'HTTP', 'SQLITE', 'COLD_START', 'ENGAGEMENT'].filter((part) => process.env[`BENCH_${part}`] === '0');
const meta = `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString().slice(0, 10)}, load average ${loadavg()[0]!.toFixed(1)} at the end${skipped.length ? `; skipped: ${skipped.join(', ')}` : ''}.`;
writeReadmeTable('all', rows, meta);
console.log('written to bench/results/latest.json and the README');
