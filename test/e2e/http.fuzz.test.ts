import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeApi, type EdgeApi } from '../support/http-edge-fixture.js';

// Arbitrary JSON at every ingest route over real loopback HTTP (in-memory store): deep, huge,
// unicode (lone surrogates too), numbers at the edges of a double. Every answer is 2xx or a 4xx
// with a JSON error, never a 5xx, and the server keeps serving.

const ROUTES = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch'] as const;

const text = fc.string({ unit: 'binary', maxLength: 40 });
/** numbers JSON.stringify cannot make: beyond a double, negative zero, long mantissas */
const edgeNumber = fc.constantFrom(
  '1e400',
  '-1e400',
  '-0',
  '0.0000000000000000000000001',
  '123456789012345678901234567890',
  '9007199254740993',
  '1E-400',
  '-0.0e0',
);
const value = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
/** a call shaped enough to get past the first checks, with arbitrary values where it counts */
const callish = fc.record(
  {
    type: fc.oneof(fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias'), text),
    userId: fc.oneof(text, value),
    anonymousId: fc.oneof(text, value),
    event: fc.oneof(text, value),
    traits: fc.oneof(fc.dictionary(fc.constantFrom('email', 'phone', 'name', 'plan', 'address', 'birthday'), value), value),
    properties: value,
    context: fc.oneof(fc.record({ location: value, traits: value, ip: text }), value),
    timestamp: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      text,
      value,
    ),
    messageId: fc.oneof(text, value),
    previousId: text,
    groupId: fc.oneof(text, value),
  },
  { requiredKeys: [] },
);

/** JSON text: any value, a Segment-ish call, a batch of them, nesting deep enough to overflow a recursive walk, or sheer size */
const body: fc.Arbitrary<string> = fc.oneof(
  value.map((v) => JSON.stringify(v)),
  callish.map((c) => JSON.stringify(c)),
  fc.array(fc.oneof(callish, value), { maxLength: 30 }).map((batch) => JSON.stringify({ batch })),
  fc
    .tuple(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1_000, max: 10_000 })), fc.boolean())
    .map(
      ([depth, objects]) =>
        `{"userId":"u","event":"e","properties":${objects ? '{"a":'.repeat(depth) : '['.repeat(depth)}1${(objects ? '}' : ']').repeat(depth)}}`,
    ),
  fc
    .tuple(fc.integer({ min: 1, max: 600 * 1024 }), fc.constantFrom('x', 'é', '\u{1F600}', '\\"'))
    .map(([n, ch]) => `{"userId":"big","traits":{"s":"${ch.repeat(Math.ceil(n / ch.length))}"}}`),
  edgeNumber.map((n) => `{"userId":${n},"event":"e","properties":{"n":${n}},"traits":{"age":${n}}}`),
  edgeNumber.map((n) => `{"batch":[{"type":"track","userId":"n","event":"e","properties":{"n":${n}}}]}`),
);

let api: EdgeApi;
beforeAll(async () => {
  api = await startEdgeApi();
});
afterAll(async () => {
  await api?.close();
});

describe('ingest fuzz', () => {
  it('answers any JSON body on every ingest route with 2xx or a JSON 4xx, never 5xx', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), body, async (route, text) => {
        // a fresh rate-limit bucket each run: batches count call by call
        api.clock.advance(60_000);
        const res = await api.post(`/v1/${route}`, text);
        seen.add(res.status);
        expect(res.status, `${route}: ${res.text.slice(0, 300)}`).toBeLessThan(500);
        if (res.status >= 400) expect(res.body?.error?.code, res.text.slice(0, 300)).toEqual(expect.any(String));
        else expect(res.body?.success).toBe(true);
      }),
      { numRuns: 250 },
    );
    // the property saw both sides: accepted calls and refused ones
    expect([...seen].some((s) => s < 300)).toBe(true);
    expect([...seen].some((s) => s >= 400)).toBe(true);
    expect((await api.request('/health')).status).toBe(200);
  });
});
