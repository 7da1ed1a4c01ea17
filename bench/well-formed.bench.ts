import { cpuUsage } from 'node:process';
import { parseJson } from '../src/adapters/http/body.js';
import { firstIllFormedText, mayHoldSurrogateEscape } from '../src/domain/shared/well-formed.js';

// The cost of refusing lone surrogates (firstIllFormedText, one walk over the parsed body) beside
// what an ingest body already pays to be read: JSON.parse and the nesting bound. parseJson walks
// only a body whose text holds a \uD800-\uDFFF escape (the only way a lone surrogate gets past
// the UTF-8 check), so most bodies pay just that scan. For each body shape the four take turns
// (A: JSON.parse alone; B: parseJson, parse + depth bound + the scan; C: the walk alone; D: the
// scan alone), ROUNDS rounds of REPS parses; the rows are median CPU µs per body and the
// spread (min..max of the rounds). Run: node --import tsx bench/well-formed.bench.ts

const ROUNDS = Number(process.env.BENCH_WF_ROUNDS ?? 9);

const track = (i: number) => ({
  type: 'track',
  messageId: `m-${i}-0123456789abcdef`,
  userId: `user-${i}`,
  anonymousId: `anon-${i}-0123456789`,
  event: 'Order Completed',
  timestamp: '2026-06-30T12:00:00.000Z',
  context: {
    ip: '203.0.113.7',
    locale: 'en-GB',
    page: { url: 'https://shop.example.com/checkout', title: 'Checkout — Shop' },
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
  },
  properties: {
    order_id: `o-${i}`,
    total: 120.5,
    currency: 'GBP',
    products: Array.from({ length: 3 }, (_, j) => ({ product_id: `p-${j}`, name: `Product ${j} é`, category: 'books', price: 20 + j, quantity: 1 + j })),
  },
});

const bodies: [string, string][] = [
  ['one track call', JSON.stringify(track(1))],
  ['batch of 100 calls', JSON.stringify({ batch: Array.from({ length: 100 }, (_, i) => track(i)) })],
  [
    'one call, 30 KB of short traits',
    JSON.stringify({ type: 'identify', userId: 'u', traits: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`t${i}`, `v${i}`])) }),
  ],
];

const cpuMicros = (f: () => void, reps: number): number => {
  const start = cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const used = cpuUsage(start);
  return (used.user + used.system) / reps;
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} µs (${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)})`;

for (const [name, text] of bodies) {
  const reps = Math.max(50, Math.round(2_000_000 / text.length));
  const parsed = JSON.parse(text) as unknown;
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  const d: number[] = [];
  // warm up all three
  cpuMicros(() => JSON.parse(text), reps);
  cpuMicros(() => parseJson(text), reps);
  cpuMicros(() => firstIllFormedText(parsed), reps);
  cpuMicros(() => mayHoldSurrogateEscape(text), reps);
  for (let r = 0; r < ROUNDS; r++) {
    a.push(cpuMicros(() => JSON.parse(text), reps));
    b.push(cpuMicros(() => parseJson(text), reps));
    c.push(cpuMicros(() => firstIllFormedText(parsed), reps));
    d.push(cpuMicros(() => mayHoldSurrogateEscape(text), reps));
  }
  console.log(
    `${name} (${text.length} B): JSON.parse ${fmt(a)}; parseJson (parse + depth bound + scan) ${fmt(b)}; the walk alone ${fmt(c)} = ${((median(c) / median(a)) * 100).toFixed(1)}% of JSON.parse; the text check that skips it ${fmt(d)} = ${((median(d) / median(a)) * 100).toFixed(1)}%`,
  );
}
