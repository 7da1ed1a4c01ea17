import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { scriptNodeFlags } from './batch-load.js';
import { WRITE_KEY } from './target-credentials.js';

// Ingest over loopback with autocannon: POST /v1/track on the real API (in-memory store) against
// a bare node:http server that parses the same JSON and answers 200, in the same run. Each request
// carries a new messageId and one of 5,000 users, so nothing is answered from the duplicate path.

type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

const startTarget = async (kind: 'bare' | 'c360') => {
  // both with the node flags npm start runs the server with, so the ratio compares code, not flags
  const child = spawn(process.execPath, [...scriptNodeFlags('start'), '--import', 'tsx', new URL('./http-target.ts', import.meta.url).pathname, kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} target exited with ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return { port, stop: () => new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) };
};

// one counter for every load of the run: a messageId used again with another body is (rightly)
// refused as an idempotency conflict
let n = 0;

const load = async (port: number, seconds: number) => {
  const refused = new Map<number, number>();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 16,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/track',
        headers: { 'content-type': 'application/json', authorization: auth },
        setupRequest: (req) => {
          n++;
          const body = {
            messageId: `bench-${process.pid}-${n}`,
            userId: `user-${n % 5_000}`,
            event: 'Product Viewed',
            properties: { product_id: `p${n % 200}`, category: 'electronics', price: 19.99 },
            timestamp: new Date().toISOString(),
          };
          return { ...req, body: JSON.stringify(body) };
        },
        onResponse: (status: number) => void (status >= 300 && refused.set(status, (refused.get(status) ?? 0) + 1)),
      },
    ],
  });
  const statuses = [...refused].map(([status, count]) => `${count}x${status}`).join(' ') || 'none';
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: `${result.non2xx} (${statuses})`, errors: result.errors };
};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * The two servers take turns, BENCH_HTTP_ROUNDS times (default 3): each round loads the bare
 * server, then ours, each freshly started and warmed up, and sets ours against that round's bare
 * figure. The rows give the medians and the spread of the per-round ratios.
 */
export const runHttpBench = async (
  seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 10),
  rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 3),
): Promise<Row[]> => {
  const runs: { bare: Awaited<ReturnType<typeof load>>; ours: Awaited<ReturnType<typeof load>> }[] = [];
  for (let round = 0; round < rounds; round++) {
    const out: Record<string, Awaited<ReturnType<typeof load>>> = {};
    for (const kind of ['bare', 'c360'] as const) {
      const target = await startTarget(kind);
      try {
        await load(target.port, 2); // warm-up
        out[kind] = await load(target.port, seconds);
      } finally {
        await target.stop();
      }
    }
    runs.push({ bare: out.bare!, ours: out.c360! });
  }
  const ratios = runs.map((r) => r.ours.rps / r.bare.rps);
  const ratio = median(ratios);
  const last = runs.at(-1)!;
  const spread = (xs: readonly number[], f: (x: number) => string) => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
  const rps = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    {
      name: 'HTTP ceiling: bare node:http, parse JSON, 200',
      value: Math.round(median(runs.map((r) => r.bare.rps))),
      unit: 'req/s',
      note: `median of ${rounds} rounds, spread ${spread(
        runs.map((r) => r.bare.rps),
        rps,
      )}; last round p50 ${last.bare.p50} ms, p99 ${last.bare.p99} ms`,
    },
    {
      name: 'HTTP ingest POST /v1/track (in-memory, sync)',
      value: Math.round(median(runs.map((r) => r.ours.rps))),
      unit: 'req/s',
      goal: '>= 0.3x ceiling',
      pass: ratio >= 0.3,
      note:
        `${ratio.toFixed(2)}x of the ceiling (median of ${rounds} alternating rounds, per round ${spread(ratios, (x) => x.toFixed(2))}); ` +
        `last round p50 ${last.ours.p50} ms, p99 ${last.ours.p99} ms; non-2xx ${runs.map((r) => r.ours.non2xx).join(', ')}; errors ${runs.reduce((e, r) => e + r.ours.errors, 0)}`,
    },
  ];
};
