import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../src/infrastructure/local/dynamodb-local.js';
import { BATCH, loadBatches, startTarget, type Target } from './batch-load.js';
import { createCeilingTable, runCeiling } from './dynamodb-ceiling.js';
import { difference, total, type RequestCounts } from './request-counter.js';

// POST /v1/batch of 100 on DynamoDB as `C360_STORE=dynamodb npm start` runs it (its own DynamoDB
// Local on disk, Streams projection by the local poller), against the ceiling in the same run: the
// same calls' writes, 25 calls per 100-item TransactWriteItems, nothing else
// (bench/dynamodb-ceiling.ts), on a DynamoDB Local of its own (the same jar and settings, on disk).
// Not on the target's: DynamoDB Local keeps every stream's records in one SQLite table with no
// index by shard, and each write to (or read of) a table with a stream looks up its shard's first
// record by scanning that table from the oldest record. A stream whose first record came after
// another stream's records pays that scan on every item it writes: the ceiling's table, made after
// the target's warm-up, paid for all of it (0.1 s and more per transaction), and measured 134-194
// calls/s where on its own it made 239-370 (runs of one afternoon). The two take turns, order
// alternating, so a noisy neighbour hits both. The target counts every request it sends to DynamoDB
// and DynamoDB Streams (an SDK middleware, bench/request-counter.ts); a round's count runs until
// the projection has caught up with what the round ingested, so requests per call include the
// projection's.
//
// `npx tsx bench/dynamodb-batch.bench.ts`; BENCH_BATCH_SECONDS (10), BENCH_BATCH_ROUNDS (3) and
// BENCH_BATCH_CONNECTIONS (1: one batch at a time) change it.

export type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: readonly number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polling goes on while idle (the Streams poller, the outbox relay); anything else stopping means caught up. */
const POLLING = /^(GetRecords|GetShardIterator|DescribeStream|DescribeTable) |^Query events-outbox$/;
const work = (c: RequestCounts) => Object.entries(c.requests).reduce((n, [k, v]) => (POLLING.test(k) ? n : n + v), 0);

/** Waits until the target is quiet; answers its counts and when its work last moved (within the 500 ms it polls at). */
const settle = async (target: Target, timeoutMs = 120_000): Promise<{ counts: RequestCounts; busyUntil: number }> => {
  const deadline = performance.now() + timeoutMs;
  let last = await target.counts();
  let busyUntil = performance.now();
  for (let still = 0; still < 3; ) {
    if (performance.now() > deadline) throw new Error('the target never went quiet after the load');
    await sleep(500);
    const now = await target.counts();
    if (work(now) === work(last)) still++;
    else [still, busyUntil] = [0, performance.now()];
    last = now;
  }
  return { counts: last, busyUntil };
};

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

export async function runDynamoDbBatchBench(
  seconds = Number(process.env.BENCH_BATCH_SECONDS ?? 10),
  rounds = Number(process.env.BENCH_BATCH_ROUNDS ?? 3),
  connections = Number(process.env.BENCH_BATCH_CONNECTIONS ?? 1),
): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), 'c360-dynamodb-batch-'));
  const dynamo = await startDynamoDbLocal({ dataDir: join(root, 'target') });
  let ceilingDynamo: Awaited<ReturnType<typeof startDynamoDbLocal>>;
  try {
    // the ceiling's own server: its stream is then the only one there (see above)
    ceilingDynamo = await startDynamoDbLocal({ dataDir: join(root, 'ceiling') });
  } catch (e) {
    await dynamo.stop();
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const env = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    BENCH_COUNT_REQUESTS: '1',
  };
  const ceilingClient = new DynamoDBClient({ endpoint: ceilingDynamo.endpoint, region: 'us-east-1', credentials });
  const ceilingTable = 'ceiling-events';
  let target: Target | undefined;
  try {
    await createCeilingTable(ceilingClient, ceilingTable);
    target = await startTarget('dynamodb', 'bench', env);
    // warm the JVM, the SDK clients and the target's JIT
    await loadBatches(target.port, 3, connections);
    await runCeiling(ceilingClient, ceilingTable, 3, connections);
    await settle(target);

    const ours: number[] = [];
    /** calls over the time until the projection (and engagement) had caught up with them */
    const sustained: number[] = [];
    const ceiling: number[] = [];
    const perCall: number[] = [];
    const all: RequestCounts = { requests: {}, attempts: 0, retried: 0, retryDelayMs: 0, errors: {} };
    let calls = 0;
    let refused = 0;
    for (let round = 0; round < rounds; round++) {
      for (const turn of round % 2 === 0 ? (['ceiling', 'ours'] as const) : (['ours', 'ceiling'] as const)) {
        if (turn === 'ceiling') {
          ceiling.push((await runCeiling(ceilingClient, ceilingTable, seconds, connections)).callsPerSecond);
          continue;
        }
        const before = await target.counts();
        const start = performance.now();
        const r = await loadBatches(target.port, seconds, connections);
        const quiet = await settle(target);
        const sent = difference(quiet.counts, before);
        ours.push(r.callsPerSecond);
        sustained.push(r.calls / ((quiet.busyUntil - start) / 1000));
        perCall.push(total(sent) / r.calls);
        refused += r.refused + r.errors;
        calls += r.calls;
        add(all.requests, sent.requests);
        add(all.errors, sent.errors);
        all.attempts += sent.attempts;
        all.retried += sent.retried;
        all.retryDelayMs += sent.retryDelayMs;
      }
    }
    const ratios = ours.map((o, i) => o / ceiling[i]!);
    const requests = total(all);
    const byCommand = Object.entries(all.requests)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(v / calls).toFixed(3)}`)
      .join(', ');
    // by who sent them: ingest (event store and data keys), the Streams projection (views,
    // checkpoints, the stream), engagement's decisions (its reads and commits carry its keys)
    const share = (pattern: RegExp) => (Object.entries(all.requests).reduce((n, [k, v]) => (pattern.test(k) ? n + v : n), 0) / calls).toFixed(2);
    const origins = `ingest (events + keys tables) ${share(/ (events|keys)$/)}, projection (views + stream) ${share(/ (views|stream)$/)}, engagement ${share(/ \(engagement\)$| events-outbox$/)}`;
    const oursRate = median(ours);
    const ratio = median(ratios);
    return [
      {
        name: `DynamoDB ceiling: ${BATCH / 25} x TransactWriteItems of 100 items (25 calls) per batch, SDK only`,
        value: Math.round(median(ceiling)),
        unit: 'calls/s',
        note: `median of ${rounds}, spread ${spread(ceiling)}; ${connections} batch(es) at a time; on a DynamoDB Local of its own, on disk`,
      },
      {
        name: `HTTP POST /v1/batch of ${BATCH}, DynamoDB Local on disk (Streams projection)`,
        value: Math.round(oursRate),
        unit: 'calls/s',
        goal: '>= 250 and >= 0.7x ceiling',
        pass: oursRate >= 250 && ratio >= 0.7,
        note: `median of ${rounds}, spread ${spread(ours)}; ${ratio.toFixed(2)}x the ceiling (per round ${spread(ratios, 2)}); ${connections} batch(es) at a time; refused ${refused}`,
      },
      {
        name: `HTTP POST /v1/batch of ${BATCH}, DynamoDB Local, until the Streams projection has caught up`,
        value: Math.round(median(sustained)),
        unit: 'calls/s',
        note: `median of ${rounds}, spread ${spread(sustained)}; ${(median(sustained) / median(ceiling)).toFixed(2)}x the ceiling (per round ${spread(
          sustained.map((x, i) => x / ceiling[i]!),
          2,
        )}); the calls of a round over the time from its first call until the projection (and engagement) went quiet, within 0.5 s`,
      },
      {
        name: `DynamoDB requests per ingest call, /v1/batch of ${BATCH} (every request of the target, projection included)`,
        value: Number((requests / calls).toFixed(2)),
        unit: 'requests/call',
        goal: '<= 1.5',
        pass: requests / calls <= 1.5,
        note: `per round ${spread(perCall, 2)}; ${origins}; ${byCommand}`,
      },
      {
        name: 'DynamoDB SDK retries under the /v1/batch load',
        value: all.retried,
        unit: 'requests retried',
        note: `${all.attempts} HTTP attempts for ${requests} requests; ${Math.round(all.retryDelayMs)} ms of retry delay; errors ${JSON.stringify(all.errors)}`,
      },
    ];
  } finally {
    await target?.stop();
    ceilingClient.destroy();
    await Promise.all([dynamo.stop(), ceilingDynamo.stop()]);
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const rows = await runDynamoDbBatchBench();
  console.table(
    rows.map((r) => ({
      benchmark: r.name,
      value: r.value.toLocaleString('en-US'),
      unit: r.unit,
      goal: r.goal ?? '',
      met: r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
    })),
  );
  for (const r of rows) if (r.note) console.log(`${r.name}:\n  ${r.note}`);
}
