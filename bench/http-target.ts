import 'reflect-metadata';
import { createServer } from 'node:http';
import { createHttpApp } from '../src/adapters/http/app.js';
import { startHttpServer } from '../src/adapters/http/node-server.js';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
import { countEveryClient, emptyCounts } from './request-counter.js';
import { installSqlTrace } from './sql-trace.js';
import { ADMIN_TOKEN, WRITE_KEY } from './target-credentials.js';

// A server for the HTTP benchmark, in its own process so it gets a core of its own like a real
// deployment: `bare` (node:http that parses the JSON body and answers 200, the ceiling) or `c360`
// (the real API on the in-memory store or the embedded SQLite file, ingesting synchronously). Prints its port on stdout.

const kind = process.argv[2];

type Key = { pk?: { S?: string } };
/** the engagement use case's reads and commits carry its idempotency keys (engagement:<decision>) */
const engagementRequest = (input: unknown): string | undefined => {
  const i = input as { TransactItems?: { Put?: { Item?: Key } }[]; RequestItems?: Record<string, { Keys?: Key[] }> };
  const keys = [...(i.TransactItems ?? []).map((t) => t.Put?.Item), ...Object.values(i.RequestItems ?? {}).flatMap((r) => r.Keys ?? [])];
  return keys.some((k) => k?.pk?.S?.includes('#I#engagement:')) ? 'engagement' : undefined;
};
// exit normally on a signal, so --cpu-prof can write its profile
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
if (kind === 'bare') {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
} else if (kind === 'c360') {
  // argv[3]: the store: memory; sqlite in the data dir argv[4] (the durable embedded default); or
  // dynamodb at AWS_ENDPOINT_URL_DYNAMODB, tables prefixed argv[4], Streams projection as npm start
  const store = process.argv[3] === 'sqlite' || process.argv[3] === 'dynamodb' ? process.argv[3] : 'memory';
  const dir = process.argv[4] ?? '.c360-bench';
  if (process.env.BENCH_COUNT_REQUESTS === '1' && process.send) {
    // every DynamoDB request of this process, counted by command and table kind, sent on request
    const counts = emptyCounts();
    countEveryClient(counts, { kinds: (table) => (table.startsWith(`${dir}-`) ? table.slice(dir.length + 1) : 'other'), origin: engagementRequest });
    process.on('message', (m) => m === 'counts' && process.send!(counts));
  }
  // BENCH_SQL_TRACE=1: the statements run on the SQLite file during a window the bench opens and
  // closes over IPC, for its ceiling (bench/sql-trace.ts, bench/sqlite-ceiling.ts)
  if (process.env.BENCH_SQL_TRACE === '1' && process.send) {
    const tracer = installSqlTrace();
    process.on('message', (m: { trace?: 'start' | 'stop'; path?: string }) => {
      if (m?.trace === undefined || m.path === undefined) return;
      try {
        if (m.trace === 'start') tracer.start(m.path);
        else tracer.stop(m.path);
        process.send!({ trace: 'ok' });
      } catch (e) {
        process.send!({ trace: 'error', message: (e as Error).message });
      }
    });
  }
  const tables = Object.fromEntries(['EVENTS', 'VIEWS', 'KEYS', 'QUARANTINE', 'AUDIT', 'LEDGER'].map((t) => [`C360_${t}_TABLE`, `${dir}-${t.toLowerCase()}`]));
  const config = loadConfig({
    ...(store === 'dynamodb' ? { ...tables, AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB } : {}),
    C360_STORE: store,
    C360_GROUP_COMMIT: process.env.C360_GROUP_COMMIT,
    C360_DATA_DIR: dir,
    C360_TENANT: 'bench',
    C360_WRITE_KEY: WRITE_KEY,
    C360_ADMIN_TOKEN: ADMIN_TOKEN,
    C360_RATE_LIMIT_PER_SECOND: '1000000',
    C360_CLAIM_SECRET: 'bench-claim-secret-0123456789abcdef',
    C360_MASTER_KEY: 'YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=',
    // on by default, as npm start runs; a bench may turn it off to see the ingest path alone
    ...(process.env.C360_ENGAGEMENT ? { C360_ENGAGEMENT: process.env.C360_ENGAGEMENT } : {}),
  });
  const app = await buildApp(config);
  await app.startBackground();
  const http = createHttpApp({ core: app.core, intake: app.intake, auth: app.auth, sourceOf: app.sourceOf, metrics: app.metrics, now: Date.now });
  const server = await startHttpServer(http, { port: 0, hostname: '127.0.0.1' });
  console.log(JSON.stringify({ port: server.port }));
} else {
  console.error('usage: http-target.ts bare|c360');
  process.exit(2);
}
