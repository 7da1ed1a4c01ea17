import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTarget } from './batch-load.js';
import { WRITE_KEY } from './target-credentials.js';

// Group commit must not make a lone call slower: one client sends POST /v1/track calls one after
// another (each waits for the previous answer, so no two commits ever share a transaction) to a
// server on the embedded SQLite file with group commit on, then off (C360_GROUP_COMMIT=off), the
// two taking turns. The row is the p50 latency with grouping on, and its ratio to off.

type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const CALLS = Number(process.env.BENCH_LONE_CALLS ?? 300);
const ROUNDS = Number(process.env.BENCH_LONE_ROUNDS ?? 5);

const post = (agent: Agent, port: number, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/track',
        method: 'POST',
        agent,
        headers: { authorization: auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

let n = 0;
/** p50 latency (ms) of CALLS sequential calls after 50 warm-up calls, on a fresh file */
const oneRun = async (grouping: 'on' | 'off'): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), `c360-lone-${grouping}-`));
  const target = await startTarget('sqlite', dir, { C360_GROUP_COMMIT: grouping });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < CALLS + 50; i++) {
      n++;
      const body = JSON.stringify({
        messageId: `lone-${process.pid}-${n}`,
        userId: `user-${n % 500}`,
        event: 'Product Viewed',
        properties: { product_id: `p${n % 200}` },
      });
      const t0 = performance.now();
      const status = await post(agent, target.port, body);
      if (status !== 200) throw new Error(`POST /v1/track answered ${status}`);
      if (i >= 50) latencies.push(performance.now() - t0);
    }
    return median(latencies);
  } finally {
    agent.destroy();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

export const runLoneCallBench = async (): Promise<Row[]> => {
  const on: number[] = [];
  const off: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // alternate which goes first, so a slow phase of the machine hits both
    if (r % 2 === 0) {
      on.push(await oneRun('on'));
      off.push(await oneRun('off'));
    } else {
      off.push(await oneRun('off'));
      on.push(await oneRun('on'));
    }
  }
  const ratios = on.map((v, i) => v / off[i]!);
  const ratio = median(ratios);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  return [
    {
      name: 'lone POST /v1/track p50 latency, embedded SQLite, group commit on',
      value: +median(on).toFixed(2),
      unit: 'ms',
      goal: '<= 1.05x grouping off',
      pass: ratio <= 1.05,
      note: `${ratio.toFixed(3)}x grouping off (${median(off).toFixed(2)} ms), median of ${ROUNDS} alternating rounds of ${CALLS} sequential calls; per-round p50 on: ${fmt(on)}; off: ${fmt(off)}; per-round ratios ${ratios.map((x) => x.toFixed(3)).join(', ')}`,
    },
  ];
};
