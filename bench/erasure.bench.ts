import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { buildApp, type App } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';

// Erasure latency for a cluster of 5 merged customers holding 1,000 events in total, through the
// production wiring (container, encrypted quarantine, ledger, audit): on the in-memory store and
// on DynamoDB Local. Only `core.gdpr.erase` is timed; building each cluster is not.

type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** 5 customers on 5 devices, ~195 events each, then identifies that merge them all: ~1,000 events. */
const buildCluster = async (app: App, tenant: string, run: string): Promise<{ id: string; events: number }> => {
  const web = app.sourceOf(tenant, 'web');
  const ingest = async (call: Record<string, unknown>) => {
    const out = await app.core.ingest.ingest(tenant, web, call);
    if (out.status !== 'accepted') throw new Error(`setup call refused: ${JSON.stringify(out)}`);
    return out;
  };
  await Promise.all(
    Array.from({ length: 5 }, async (_, c) => {
      for (let i = 0; i < 196; i++) {
        await ingest({
          type: 'track',
          messageId: `${run}-${c}-${i}`,
          anonymousId: `${run}-anon-${c}`,
          event: 'Product Viewed',
          properties: { product_id: `p${i % 40}`, category: 'electronics' },
          timestamp: new Date(Date.UTC(2026, 0, 1) + (c * 196 + i) * 60_000).toISOString(),
        });
      }
    }),
  );
  let id = '';
  for (let c = 0; c < 5; c++)
    id = (
      await ingest({
        type: 'identify',
        messageId: `${run}-id-${c}`,
        anonymousId: `${run}-anon-${c}`,
        traits: { email: `${run}@example.com`, name: 'Bench Person' },
      })
    ).customerId;
  const events = (await Promise.all((await app.core.repo.load(tenant, id)).members.concat(id).map((m) => app.core.ports.store.readStream(tenant, m)))).reduce(
    (n, s) => n + s.length,
    0,
  );
  return { id, events };
};

const measure = async (app: App, label: string, runs: number): Promise<Row[]> => {
  const ms: number[] = [];
  let events = 0;
  for (let r = 0; r < runs; r++) {
    const tenant = `erase-${r}`;
    const cluster = await buildCluster(app, tenant, randomUUID().slice(0, 8));
    events = cluster.events;
    const t0 = performance.now();
    const receipt = await app.core.gdpr.erase(tenant, cluster.id, { actor: 'bench' });
    ms.push(performance.now() - t0);
    if (receipt.customers.length !== 5) throw new Error(`expected a cluster of 5, erased ${receipt.customers.length}`);
  }
  const note = `${runs} erasures of 5 customers / ${events} events; p99 ${quantile(ms, 0.99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
  return [{ name: `erasure latency, ${label}`, value: Number(quantile(ms, 0.5).toFixed(1)), unit: 'ms p50', note }];
};

export const runErasureBench = async (dynamoEndpoint?: string): Promise<Row[]> => {
  const rows: Row[] = [];
  const memory = await buildApp(loadConfig({ C360_STORE: 'memory' }));
  try {
    rows.push(...(await measure(memory, 'in-memory store', Number(process.env.BENCH_ERASE_RUNS ?? 30))));
  } finally {
    await memory.close();
  }
  if (dynamoEndpoint) {
    const run = randomUUID().slice(0, 8);
    const dynamo = await buildApp(
      loadConfig({
        C360_STORE: 'dynamodb',
        C360_PROJECTION: 'inline',
        AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
        ...Object.fromEntries(['EVENTS', 'VIEWS', 'KEYS', 'QUARANTINE', 'AUDIT', 'LEDGER'].map((t) => [`C360_${t}_TABLE`, `bench-${t.toLowerCase()}-${run}`])),
        C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
        C360_MASTER_KEY: randomBytes(32).toString('base64'),
      }),
    );
    try {
      rows.push(...(await measure(dynamo, 'DynamoDB Local (inline views)', Number(process.env.BENCH_ERASE_DYNAMODB_RUNS ?? 5))));
    } finally {
      await dynamo.close();
    }
  }
  return rows;
};
