import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createDynamoDbClient } from '../src/adapters/dynamodb/dynamodb.client.js';
import { MemoryCheckpoints } from '../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { DynamoDbStreamsPoller } from '../src/adapters/dynamodb/dynamodb.streams-poller.js';
import { MemoryKeyStore } from '../src/adapters/memory/memory.key-store.js';
import type { ViewDoc } from '../src/application/ports/read-model.port.js';
import { startDynamoDbLocal } from '../src/infrastructure/local/dynamodb-local.js';
import { freshTables, startProcess, streamsProjector, WEB } from '../test/support/dynamodb-projection.js';

// Stream-to-read-model lag on DynamoDB Local: from the moment a commit is acknowledged to the
// moment the local poller has stored the 360 view that includes it. Commits arrive at a steady
// pace on a few customers, each measured on its own; the poller backs off when idle, as it would
// in production. BENCH_LAG_COMMITS scales it.

export type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const COMMITS = Number(process.env.BENCH_LAG_COMMITS ?? 120);
const WARM_UP = 20;
const PACE_MS = 40;
const CUSTOMERS = 4;
const IDLE_MS: [number, number] = [10, 100];
const TENANT = 'lag';

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function runLagBench(endpoint: string): Promise<Row[]> {
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(endpoint).hostname))
    throw new Error(`the lag bench only runs against a local server, not ${endpoint}`);
  const local = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const client = createDynamoDbClient(local);
  const streams = new DynamoDBStreamsClient(local);
  try {
    const tables = await freshTables(client);
    const p = startProcess(client, tables, new MemoryKeyStore());
    // the moment each (customer, version) first reached the store
    const seen = new Map<string, number>();
    const waiting = new Map<string, () => void>();
    const docs = {
      get: (t: string, id: string) => p.views.get(t, id),
      put: async (t: string, doc: ViewDoc) => {
        const stored = await p.views.put(t, doc);
        const at = performance.now();
        for (const [id, version] of Object.entries(doc.applied)) {
          const key = `${id}@${version}`;
          if (stored && !seen.has(key)) seen.set(key, at);
          waiting.get(key)?.();
        }
        return stored;
      },
    };
    const poller = new DynamoDbStreamsPoller(streams, streamsProjector(p, docs), {
      streamArn: tables.streamArn,
      checkpoints: new MemoryCheckpoints(),
      idleDelayMs: IDLE_MS,
    });
    poller.start();
    try {
      const ids: string[] = [];
      for (let c = 0; c < CUSTOMERS; c++) {
        const out = await p.core.ingest.ingest(TENANT, WEB, {
          type: 'identify',
          messageId: `lag-id-${c}`,
          anonymousId: `anon-lag-${c}`,
          traits: { plan: 'pro' },
        });
        if (out.status !== 'accepted') throw new Error(`setup call refused: ${JSON.stringify(out)}`);
        ids.push(out.customerId);
      }
      await poller.drain({ quietMs: 100 });
      const lags: Promise<number>[] = [];
      for (let i = 0; i < WARM_UP + COMMITS; i++) {
        const c = i % CUSTOMERS;
        const call = { type: 'track', messageId: `lag-${i}`, anonymousId: `anon-lag-${c}`, event: 'Product Viewed', properties: { category: 'books' } };
        const out = await p.core.ingest.ingest(TENANT, WEB, call);
        const committedAt = performance.now();
        if (out.status !== 'accepted') throw new Error(`bench call refused: ${JSON.stringify(out)}`);
        const version = (await p.core.ports.store.readStream(TENANT, ids[c]!)).length;
        const key = `${ids[c]}@${version}`;
        lags.push(
          new Promise<number>((resolve, reject) => {
            const done = () => (waiting.delete(key), clearTimeout(timer), resolve(seen.get(key)! - committedAt));
            const timer = setTimeout(() => reject(new Error(`commit ${key} not projected within 30 s`)), 30_000);
            if (seen.has(key)) done();
            else waiting.set(key, done);
          }),
        );
        await new Promise((r) => setTimeout(r, PACE_MS));
      }
      const ms = (await Promise.all(lags)).slice(WARM_UP); // the first ones also time the JIT
      const note = `${COMMITS} commits (after ${WARM_UP} unmeasured), one every ~${PACE_MS} ms + commit time, ${CUSTOMERS} customers; poller idle backoff ${IDLE_MS[0]}-${IDLE_MS[1]} ms`;
      return [
        { name: 'stream-to-read-model lag p50 (DynamoDB Local, local poller)', value: Math.round(quantile(ms, 0.5)), unit: 'ms', note },
        {
          name: 'stream-to-read-model lag p99 (DynamoDB Local, local poller)',
          value: Math.round(quantile(ms, 0.99)),
          unit: 'ms',
          note: `max ${Math.round(Math.max(...ms))} ms`,
        },
      ];
    } finally {
      await poller.stop();
    }
  } finally {
    client.destroy();
    streams.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const dynamo = await startDynamoDbLocal();
  try {
    console.table(await runLagBench(dynamo.endpoint));
  } finally {
    await dynamo.stop();
  }
}
