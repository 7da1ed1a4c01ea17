import 'reflect-metadata';
import { createHttpApp } from '../src/adapters/http/app.js';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';

// Server time to render the console's 360 page of a customer with 1,000 events, against the JSON
// GET /v1/customers/{id} of the same customer in the same run, as a ratio. In process (app.request):
// the render and the read, without a socket. Run: node --import tsx bench/console.bench.ts [events] [rounds]

const EVENTS = Number(process.argv[2] ?? 1_000);
const ROUNDS = Number(process.argv[3] ?? 300);
const TOKEN = 'bench-admin-token-0123456789abcdef';

const config = loadConfig({
  C360_STORE: 'memory',
  C360_TENANT: 'bench',
  C360_ADMIN_TOKEN: TOKEN,
  C360_WRITE_KEY: 'bench-write-key-0123456789',
  C360_RATE_LIMIT_PER_SECOND: '1000000',
});
const app = await buildApp(config);
const http = createHttpApp({
  core: app.core,
  intake: app.intake,
  auth: app.auth,
  sourceOf: app.sourceOf,
  metrics: app.metrics,
  now: Date.now,
  console: { sessionKey: 'bench-console-session-key-0123456789abcdef' },
});
const source = app.sourceOf('bench', 'web');
const start = Date.now() - EVENTS * 60_000;
for (let i = 0; i < EVENTS; i++) {
  const call =
    i === 0
      ? { type: 'identify', messageId: `b-${i}`, userId: 'bench-1', traits: { email: 'bench@example.com', name: 'Bench', plan: 'pro' } }
      : i % 10 === 0
        ? { type: 'track', messageId: `b-${i}`, userId: 'bench-1', event: 'Order Completed', properties: { order_id: `o-${i}`, revenue: 25, currency: 'USD' } }
        : { type: 'page', messageId: `b-${i}`, userId: 'bench-1', name: `Page ${i % 37}` };
  await app.intake.one('bench', source, { ...call, timestamp: new Date(start + i * 60_000).toISOString() });
}
const found = await app.core.queries.findByIdentifier('bench', 'email', 'bench@example.com');
if (found.kind !== 'view') throw new Error('no customer');
const id = found.customer.customerId;
const signIn = await http.request('/console/sign-in', { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;

const time = async (label: string, request: () => Response | Promise<Response>) => {
  for (let i = 0; i < 30; i++) await (await request()).arrayBuffer();
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const res = await request();
    await res.arrayBuffer();
    samples.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${label}: ${res.status}`);
  }
  samples.sort((a, b) => a - b);
  return { label, p50: samples[Math.floor(ROUNDS / 2)]!, p95: samples[Math.floor(ROUNDS * 0.95)]! };
};
const json = await time('GET /v1/customers/{id}', () => http.request(`/v1/customers/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } }));
const page = await time('GET /console/customers/{id}', () => http.request(`/console/customers/${id}`, { headers: { cookie } }));
for (const r of [json, page]) console.log(`${r.label.padEnd(30)} p50 ${r.p50.toFixed(2)} ms  p95 ${r.p95.toFixed(2)} ms`);
console.log(`customer with ${found.customer.eventCount} events; console / JSON (p50): ${(page.p50 / json.p50).toFixed(2)}x`);
await app.close();
