import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../src/adapters/dynamodb/dynamodb.tables.js';
import { castore, createCastoreTable, meterCapacity, oursIngestShaped, oursPlain, type Appender } from './dynamodb-workloads.js';

// Appends on DynamoDB Local: ours against Castore's DynamoDB adapter, same event content, same
// server, same run, at concurrency 1 and 16. Each writer appends to its own stream (no conflicts:
// this measures the write path, not contention; the first event of each stream is included). Rounds alternate the order of the contenders so a
// noisy neighbour on the machine hurts each about equally. BENCH_DYNAMO_APPENDS scales it.

export type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

type Sample = { latencies: number[]; seconds: number; appends: number; units: number };

const APPENDS = Number(process.env.BENCH_DYNAMO_APPENDS ?? 240);
const ROUNDS = 4;

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const assertLoopback = (endpoint: string): void => {
  const host = new URL(endpoint).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) throw new Error(`the DynamoDB bench only runs against a local server, not ${endpoint}`);
};

const client = (endpoint: string): DynamoDBClient =>
  createDynamoDbClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

type Writer = { readonly stream: string; version: number };
const writers = (concurrency: number): Writer[] => Array.from({ length: concurrency }, () => ({ stream: randomUUID(), version: 0 }));

/** `appends` appends, spread over the writers, each appending to its own stream (kept across rounds). */
const run = async (appender: Appender, meter: { units: number }, ws: readonly Writer[], appends: number): Promise<Sample> => {
  const perWriter = Math.ceil(appends / ws.length);
  const latencies: number[] = [];
  const units = meter.units;
  const t0 = performance.now();
  await Promise.all(
    ws.map(async (w) => {
      for (let i = 0; i < perWriter; i++) {
        const start = performance.now();
        await appender.append(w.stream, ++w.version);
        latencies.push(performance.now() - start);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - t0) / 1000, appends: perWriter * ws.length, units: meter.units - units };
};

const merge = (samples: readonly Sample[]): Sample => ({
  latencies: samples.flatMap((s) => s.latencies),
  seconds: samples.reduce((n, s) => n + s.seconds, 0),
  appends: samples.reduce((n, s) => n + s.appends, 0),
  units: samples.reduce((n, s) => n + s.units, 0),
});

export async function runDynamoDbBench(endpoint: string): Promise<Row[]> {
  assertLoopback(endpoint);
  const ourClient = client(endpoint);
  const castoreClient = client(endpoint);
  const ourMeter = meterCapacity(ourClient);
  const castoreMeter = meterCapacity(castoreClient);
  try {
    const events = `bench-events-${randomUUID()}`;
    const castoreTable = `bench-castore-${randomUUID()}`;
    await Promise.all([ensureTables(ourClient, { events }), createCastoreTable(castoreClient, castoreTable)]);
    const store = new DynamoDbEventStore(ourClient, { tableName: events });
    const contenders = [
      { appender: oursPlain(store, 'bench'), meter: ourMeter },
      { appender: oursIngestShaped(store, 'bench'), meter: ourMeter },
      { appender: castore(castoreClient, castoreTable), meter: castoreMeter },
    ];
    // warm the JVM and both SDK clients before anything is measured
    for (const c of contenders) await run(c.appender, c.meter, writers(4), 80);

    const rows: Row[] = [];
    for (const concurrency of [1, 16]) {
      const samples = contenders.map(() => [] as Sample[]);
      const streams = contenders.map(() => writers(concurrency));
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
        for (const i of order) samples[i]!.push(await run(contenders[i]!.appender, contenders[i]!.meter, streams[i]!, APPENDS / ROUNDS));
      }
      const merged = samples.map(merge);
      const rate = merged.map((s) => s.appends / s.seconds);
      contenders.forEach((c, i) => {
        const s = merged[i]!;
        rows.push({
          name: `DynamoDB Local appends, concurrency ${concurrency}: ${c.appender.name}`,
          value: Math.round(rate[i]!),
          unit: 'appends/s',
          note: `p50 ${quantile(s.latencies, 0.5).toFixed(1)} ms, p99 ${quantile(s.latencies, 0.99).toFixed(1)} ms, ${(s.units / s.appends).toFixed(2)} capacity units/append (as DynamoDB Local reports), ${s.appends} appends`,
        });
      });
      const castoreRate = rate[2]!;
      for (const i of [0, 1]) {
        const ratio = rate[i]! / castoreRate;
        rows.push({
          name: `ours/Castore appends/s, concurrency ${concurrency}: ${contenders[i]!.appender.name.replace(/ \(.*/, '')}`,
          value: Math.round(ratio * 100) / 100,
          unit: 'ratio',
          goal: '>= 1.0',
          pass: ratio >= 1,
          note: `p50 ${(quantile(merged[i]!.latencies, 0.5) / quantile(merged[2]!.latencies, 0.5)).toFixed(2)}x Castore's latency`,
        });
      }
    }
    return rows;
  } finally {
    ourClient.destroy();
    castoreClient.destroy();
  }
}

// `npx tsx bench/dynamodb.bench.ts`: its own DynamoDB Local, then the table.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const { startDynamoDbLocal } = await import('../src/infrastructure/local/dynamodb-local.js');
  const local = await startDynamoDbLocal();
  try {
    const rows = await runDynamoDbBench(local.endpoint);
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
  } finally {
    await local.stop();
  }
}
