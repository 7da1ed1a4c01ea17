import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { RequestCounts } from './request-counter.js';
import { WRITE_KEY } from './target-credentials.js';

// The /v1/batch load the store benches share: a c360 target in its own process (bench/http-target.ts)
// and autocannon posting batches of 100 calls over loopback, each call a new messageId for one of
// 5,000 users.

export const BATCH = 100;
/** how every messageId of this workload begins (the embedded store's ceiling counts the calls in a file by it) */
export const CALL_PREFIX = 'sq-';

/** The `--name=value` node flags an npm script of package.json runs node with (npm start, npm run c360); flags of another form are not read. */
export const scriptNodeFlags = (script: string): string[] =>
  ((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts[script] ?? '')
    .split(/\s+/)
    .filter((word) => /^--[a-z0-9-]+=/.test(word));
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

export type Target = {
  readonly port: number;
  /** the target process's pid (its CPU time is in /proc/<pid>/stat) */
  readonly pid: number;
  /** what the target sent to DynamoDB so far (only with BENCH_COUNT_REQUESTS=1 in its environment) */
  counts(): Promise<RequestCounts>;
  /**
   * With BENCH_SQL_TRACE=1 in its environment (bench/sql-trace.ts): `start` copies its SQLite file
   * to `path` and records its statements from then on; `stop` writes them to `path`.
   */
  trace(step: 'start' | 'stop', path: string): Promise<void>;
  stop(): Promise<void>;
};

export const startTarget = async (store: 'memory' | 'sqlite' | 'dynamodb', dir: string, env: NodeJS.ProcessEnv = {}): Promise<Target> => {
  // with the node flags npm start runs the server with (its young generation size)
  const child = spawn(
    process.execPath,
    [...scriptNodeFlags('start'), '--import', 'tsx', new URL('./http-target.ts', import.meta.url).pathname, 'c360', store, dir],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${store} target exited with ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return {
    port,
    pid: child.pid!,
    counts: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the target did not answer with its request counts (BENCH_COUNT_REQUESTS=1?)')), 5_000);
        child.once('message', (m) => (clearTimeout(timer), resolve(m as RequestCounts)));
        child.send('counts');
      }),
    trace: (step, path) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the target did not answer trace ${step} (BENCH_SQL_TRACE=1?)`)), 60_000);
        const answer = (m: { trace?: string; message?: string }) => {
          if (m?.trace === undefined) return;
          clearTimeout(timer);
          child.off('message', answer);
          if (m.trace === 'ok') resolve();
          else reject(new Error(`the target's trace ${step} failed: ${m.message}`));
        };
        child.on('message', answer);
        child.send({ trace: step, path });
      }),
    stop: () =>
      new Promise<void>((r) => {
        // a target that has already ended (crashed, say) would never send 'exit' again
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
};

let n = 0;
/** One /v1/batch body of this workload: BATCH calls, each a new messageId. */
export const batchBody = (): string => {
  const batch = [];
  for (let i = 0; i < BATCH; i++) {
    n++;
    batch.push({
      type: 'track',
      messageId: `${CALL_PREFIX}${process.pid}-${n}`,
      userId: `user-${n % 5_000}`,
      event: 'Product Viewed',
      properties: { product_id: `p${n % 200}`, category: 'electronics', price: 19.99 },
      timestamp: new Date().toISOString(),
    });
  }
  return JSON.stringify({ batch });
};

export const load = async (port: number, seconds: number, connections = 4) => {
  let refused = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/batch',
        headers: { 'content-type': 'application/json', authorization: auth },
        setupRequest: (req) => ({ ...req, body: batchBody() }),
        onResponse: (status: number) => void (status >= 300 && refused++),
      },
    ],
  });
  return {
    batches: result.requests.total,
    calls: result.requests.total * BATCH,
    callsPerSecond: (result.requests.total * BATCH) / seconds,
    p50: result.latency.p50,
    refused,
    errors: result.errors,
  };
};

/** POSTs one /v1/batch body; answers the status. */
export const post = (agent: Agent, port: number, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/batch',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', authorization: auth, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });

/**
 * Closed-loop /v1/batch load for slow targets: each connection posts a batch, waits for the answer,
 * posts the next, until `seconds` have passed; batches still in flight then are waited for and
 * counted, so every call ingested is counted and the rate is over the time they took.
 */
export const loadBatches = async (port: number, seconds: number, connections = 1) => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let refused = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < deadline) {
          const start = performance.now();
          try {
            if ((await post(agent, port, batchBody())) >= 300) refused++;
          } catch {
            errors++;
          }
          latencies.push(performance.now() - start);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - t0) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    batches: latencies.length,
    calls: latencies.length * BATCH,
    callsPerSecond: (latencies.length * BATCH) / elapsed,
    seconds: elapsed,
    p50: sorted[Math.floor(sorted.length / 2)] ?? 0,
    refused,
    errors,
  };
};
