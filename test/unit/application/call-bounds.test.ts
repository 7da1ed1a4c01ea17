import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedCall, callBoundsProblem, deepJsonText, MAX_CALL_BYTES, MAX_JSON_DEPTH } from '../../../src/application/ingest/call-bounds.js';
import { payloadText } from '../../../src/application/ingest/call-shape.js';
import { QueuedIntake } from '../../../src/application/ingest/queued-intake.js';
import type { IngestQueue, QueueRecord } from '../../../src/application/ports/ingest-queue.port.js';
import { stableJson } from '../../../src/application/stable-json.js';
import { encodeKinesisCall, envelopeKey } from '../../../src/adapters/kinesis/kinesis.record.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, quarantined, TENANT } from './ingest-support.js';

// The bounds of one call hold on every intake, the core used as a library included: nested deeper
// than MAX_JSON_DEPTH (64) or larger than MAX_CALL_BYTES (32 KB), a call is refused as invalid and
// kept in the quarantine, as the HTTP API refuses it; never a RangeError, however deep.

/** an identify call whose traits.x holds `{"a":` `levels` times (the call itself is 2 levels more) */
const nested = (levels: number, over: Record<string, unknown> = {}) => {
  let inner: unknown = 1;
  for (let i = 0; i < levels; i++) inner = { a: inner };
  return { type: 'identify', userId: 'p1', traits: { x: inner }, ...over };
};

/** a queued intake over a queue that takes every record, and the records it took */
const queuedIntake = (h: Harness) => {
  const sent: QueueRecord[] = [];
  const queue: IngestQueue = {
    limits: { maxRecords: 500, maxBytes: 5_000_000, maxRecordBytes: 1_000_000 },
    send: async (records) => {
      sent.push(...records);
      return records.map((_, i) => ({ ok: true as const, id: String(sent.length + i) }));
    },
  };
  return {
    intake: new QueuedIntake({
      queue,
      encode: (c) => encodeKinesisCall(c, envelopeKey('a-claim-secret-of-at-least-32-characters')),
      ingest: h.core.ingest,
      ports: h.ports,
    }),
    sent,
  };
};

describe('call bounds in the core', () => {
  it('quarantines a call nested 20,000 deep as NESTING_TOO_DEEP, keeping it whole as text, and takes the next call', async () => {
    const h = makeHarness();
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, nested(20_000, { messageId: 'deep' })));
    expect(q.error.code).toBe('NESTING_TOO_DEEP');
    expect(q.error.issues[0]!.path).toMatch(/^traits\.x\.a\.a/);
    const entry = await h.ports.quarantine.get(TENANT, q.quarantineId);
    expect(typeof entry?.payload).toBe('string');
    expect((entry!.payload as string).length).toBe(JSON.stringify({ type: 'identify', userId: 'p1', traits: { x: 1 }, messageId: 'deep' }).length + 20_000 * 6);
    // not a call any more: a replay says so
    await expect(h.core.quarantine.replay(TENANT, q.quarantineId)).resolves.toMatchObject({ status: 'rejected', error: { code: 'NOT_REPLAYABLE' } });
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', userId: 'p1', traits: { x: 1 } }));
  });

  it('holds calls to 64 levels as the HTTP API does: 64 is taken, 65 and 100 are refused', async () => {
    const h = makeHarness();
    expect(MAX_JSON_DEPTH).toBe(64);
    // the call is level 1, traits 2: 62 objects in traits.x make 64
    accepted(await h.core.ingest.ingest(TENANT, h.web, nested(62, { messageId: 'd64' })));
    expect(quarantined(await h.core.ingest.ingest(TENANT, h.web, nested(63, { messageId: 'd65' }))).error.code).toBe('NESTING_TOO_DEEP');
    expect(quarantined(await h.core.ingest.ingest(TENANT, h.web, nested(98, { messageId: 'd100' }))).error.code).toBe('NESTING_TOO_DEEP');
  });

  it('refuses a call over 32 KB as CALL_TOO_LARGE, keeping it; a write key does not count', async () => {
    const h = makeHarness();
    const call = (bytes: number, over: Record<string, unknown> = {}) => {
      const base = { type: 'identify', userId: 'p1', messageId: `big-${bytes}`, traits: { note: '' }, ...over };
      return { ...base, traits: { note: 'x'.repeat(bytes - JSON.stringify(base).length) } };
    };
    accepted(await h.core.ingest.ingest(TENANT, h.web, call(MAX_CALL_BYTES, { writeKey: 'wk-not-counted' })));
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call(MAX_CALL_BYTES + 1)));
    expect(q.error).toMatchObject({ code: 'CALL_TOO_LARGE', issues: [{ path: '(root)' }] });
    expect(await h.ports.quarantine.get(TENANT, q.quarantineId)).toMatchObject({ payload: call(MAX_CALL_BYTES + 1) });
    // 40 KB of 2-byte characters (20,000 of them)
    const twoByte = { type: 'identify', userId: 'p1', messageId: 'big-e', traits: { note: 'é'.repeat(20_000) } };
    expect(quarantined(await h.core.ingest.ingest(TENANT, h.web, twoByte)).error.code).toBe('CALL_TOO_LARGE');
  });

  it('refuses a deep call of a batch by itself: the others are taken, and the entry keeps the others replayable', async () => {
    const h = makeHarness();
    const ok = { type: 'identify', messageId: 'b-ok', userId: 'p2', traits: { email: 'p2@example.com' } };
    const bad = { type: 'identify', messageId: 'b-bad', userId: 'p3' };
    const outcomes = await h.core.ingest.ingestBatch(TENANT, h.web, { batch: [ok, nested(5_000, { messageId: 'b-deep' }), bad] });
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'quarantined', 'accepted']);
    const q = outcomes[1] as Extract<(typeof outcomes)[number], { status: 'quarantined' }>;
    expect(q.error.code).toBe('NESTING_TOO_DEEP');
    const entry = await h.ports.quarantine.get(TENANT, q.quarantineId);
    expect((entry!.payload as { batch: unknown[] }).batch).toEqual([expect.stringMatching(/^\{"type":"identify".*"messageId":"b-deep"\}$/)]);
  });

  it('measures a batch call with the context the batch shares merged in: the call as ingested, as the queue and a replay see it', async () => {
    const h = makeHarness();
    const half = 'x'.repeat(MAX_CALL_BYTES / 2);
    const outcomes = await h.core.ingest.ingestBatch(TENANT, h.web, {
      context: { note: half },
      batch: [
        { type: 'identify', messageId: 'ctx-1', userId: 'p4', traits: { note: half } },
        { type: 'identify', messageId: 'ctx-2', userId: 'p5', traits: { note: 'small' } },
      ],
    });
    expect(outcomes.map((o) => o.status)).toEqual(['quarantined', 'accepted']);
    expect(outcomes[0]).toMatchObject({ error: { code: 'CALL_TOO_LARGE' } });
    // the queued intake measures the same call the same way: queued only what its consumer takes
    const { intake, sent } = queuedIntake(h);
    const queued = await intake.batch(TENANT, h.web, {
      context: { note: half },
      batch: [{ type: 'identify', messageId: 'ctx-3', userId: 'p6', traits: { note: half } }],
    });
    expect(queued.map((o) => o.status)).toEqual(['quarantined']);
    expect(sent).toEqual([]);
  });

  it('refuses a number that is not finite anywhere in a call (JSON.parse reads 1e400 as Infinity) naming each path, alone in a batch, and in the queued intake', async () => {
    const h = makeHarness();
    const call = JSON.parse('{"type":"track","messageId":"inf-1","userId":"p1","event":"Score Computed","properties":{"score":1e400,"neg":-1e999,"ok":1}}');
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(q.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'properties.score must be a finite number; properties.neg must be a finite number',
      issues: [
        { path: 'properties.score', message: 'must be a finite number' },
        { path: 'properties.neg', message: 'must be a finite number' },
      ],
    });
    // anywhere: traits, context, an array, NaN from a library caller
    for (const [over, path] of [
      [{ traits: { n: Number.POSITIVE_INFINITY } }, 'traits.n'],
      [{ context: { screen: { width: Number.NaN } } }, 'context.screen.width'],
      [{ traits: { list: [1, [2, Number.NEGATIVE_INFINITY]] } }, 'traits.list[1][1]'],
    ] as const) {
      const refused = quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', userId: 'p2', ...over }));
      expect(refused.error.issues).toEqual([{ path, message: 'must be a finite number' }]);
    }
    const outcomes = await h.core.ingest.ingestBatch(TENANT, h.web, {
      batch: [
        { type: 'identify', messageId: 'inf-ok', userId: 'p3' },
        { ...call, messageId: 'inf-2' },
      ],
    });
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'quarantined']);
    const { intake, sent } = queuedIntake(h);
    expect(await intake.one(TENANT, h.web, { ...call, messageId: 'inf-3' })).toMatchObject({ status: 'quarantined', error: { code: 'VALIDATION_FAILED' } });
    expect(sent).toEqual([]);
    // a replay refuses it again, for the same reason
    await expect(h.core.quarantine.replay(TENANT, q.quarantineId)).resolves.toMatchObject({ status: 'rejected', error: q.error });
  });

  it("a library caller's array with holes is walked as JSON reads it (a hole is null): a non-finite number or a deep value after a hole is refused and kept, not a TypeError", async () => {
    const h = makeHarness();
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const holed = [, 1, Number.POSITIVE_INFINITY];
    const refused = quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', userId: 'p-hole', traits: { list: holed } }));
    expect(refused.error.issues).toEqual([{ path: 'traits.list[2]', message: 'must be a finite number' }]);
    let deep: unknown = 1;
    for (let i = 0; i < 80; i++) deep = { a: deep };
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const tooDeep = quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', userId: 'p-hole', traits: { list: [, deep] } }));
    expect(tooDeep.error.code).toBe('NESTING_TOO_DEEP');
    // a hole alone is taken, as its JSON text ([null,1]) is
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', userId: 'p-hole', traits: { list: [, 1] } }));
  });

  it('refuses a __proto__ key anywhere in a call (a copy would drop it or take it as its prototype) naming each path: in the core, alone in a batch, in the queued intake (and callBoundsProblem, which Kinesis and c360 import hold a call to)', async () => {
    const h = makeHarness();
    const call = JSON.parse(
      '{"type":"identify","userId":"p1","traits":{"__proto__":{"polluted":1},"name":"Ada"},"context":{"a":[{"__proto__":1}]}}',
    ) as unknown;
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(q.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'traits.__proto__' }, { path: 'context.a[0].__proto__' }] });
    expect(callBoundsProblem(call)).toEqual(q.error);
    const [bad, ok] = await h.core.ingest.ingestBatch(TENANT, h.web, { batch: [call, { type: 'identify', userId: 'p2', messageId: 'proto-ok' }] });
    expect([bad!.status, ok!.status]).toEqual(['quarantined', 'accepted']);
    const { intake, sent } = queuedIntake(h);
    expect(await intake.one(TENANT, h.web, call)).toMatchObject({ status: 'quarantined', error: { code: 'VALIDATION_FAILED' } });
    expect(sent).toHaveLength(0);
    // a key that merely mentions it, and a value that is the text, are data
    for (const fine of [{ x__proto__: 1 }, { k: '__proto__' }, { k: '"__proto__":' }])
      expect(callBoundsProblem({ type: 'identify', userId: 'p1', traits: fine })).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses the same calls in the queued intake, before they reach the queue', async () => {
    const h = makeHarness();
    const { intake, sent } = queuedIntake(h);
    const deep = await intake.one(TENANT, h.web, nested(20_000));
    expect(deep).toMatchObject({ status: 'quarantined', error: { code: 'NESTING_TOO_DEEP' } });
    const big = await intake.one(TENANT, h.web, { type: 'track', userId: 'p1', event: 'E', properties: { s: 'x'.repeat(40_000) } });
    expect(big).toMatchObject({ status: 'quarantined', error: { code: 'CALL_TOO_LARGE' } });
    const batch = await intake.batch(TENANT, h.web, { batch: [nested(100), { type: 'identify', userId: 'p1', messageId: 'q-ok' }] });
    expect(batch.map((o) => o.status)).toEqual(['quarantined', 'queued']);
    expect(sent).toHaveLength(1);
  });
});

/** a JSON-like value with the awkward cases: lone surrogates, escapes, -0, huge and non-finite numbers, undefined, holes, a Date, a function, a quarantine mark */
const awkward = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('', '"', '\\', '\\udc00', '\u0000\u001f\u007f', '\u2028', '😀', '\ud800', 'é', '__proto__'),
    fc.double(),
    fc.constantFrom(0, -0, 1e21, 1e-7, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, Number.NaN, Number.POSITIVE_INFINITY),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constantFrom(new Date(0), () => 1, { $nonFinite: 'Infinity' }, { $nonFinite: 'x' }, Object.create(null) as object),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      // the keys the __proto__ check must tell apart: the key itself, one ending with it after a quote (written `\"__proto__":`), one merely ending with it
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 4 }),
        fc.constantFrom('10', '2', 'a', 'B', '$nonFinite', 'writeKey', '__proto__', 'x"__proto__', 'x__proto__'),
      ),
      tie('value'),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

/** a call's top level, with the members the size and the hash treat apart */
const awkwardCall = fc.record(
  {
    type: fc.constantFrom('identify', 'track'),
    userId: awkward,
    writeKey: awkward,
    sentAt: awkward,
    receivedAt: awkward,
    _metadata: awkward,
    traits: awkward,
    '10': awkward,
    zz: awkward,
  },
  { requiredKeys: ['type'] },
);

/** a call nested `levels` deep under traits.x, or `bytes` long, near the bounds */
const nearBounds = fc.oneof(
  fc.integer({ min: 58, max: 66 }).map((levels) => nested(levels)),
  fc.tuple(fc.integer({ min: MAX_CALL_BYTES - 80, max: MAX_CALL_BYTES + 20 }), fc.constantFrom('x', 'é', '"', '😀'), fc.boolean()).map(([bytes, ch, key]) => ({
    type: 'identify',
    userId: 'p1',
    ...(key ? { writeKey: 'w'.repeat(100) } : {}),
    traits: { note: ch.repeat(Math.floor((bytes - 40) / Buffer.byteLength(ch))) },
  })),
);

describe('boundedCall', () => {
  it('judges every call as callBoundsProblem does, and its hash text is payloadText, whatever the call holds', () => {
    const seen = { walked: 0, refused: new Set<string>(), protoKey: 0 };
    const check = (call: unknown) => {
      const { problem, hashText } = boundedCall(call);
      expect(problem).toEqual(callBoundsProblem(call));
      if (hashText !== undefined) {
        expect(hashText).toBe(payloadText(call));
        seen.walked++;
      }
      if (problem) seen.refused.add(problem.code);
      if (problem?.message.includes('"__proto__" is not accepted')) seen.protoKey++;
      return { problem, hashText };
    };
    fc.assert(
      fc.property(awkwardCall, (call) => void check(call)),
      { numRuns: 2_000 },
    );
    // not vacuous: the one walk wrote a good share of these awkward calls, and each refusal was met, a __proto__ key's often
    expect(seen.walked).toBeGreaterThan(200);
    expect(seen.refused).toContain('BODY_NOT_UTF8');
    expect(seen.refused).toContain('VALIDATION_FAILED');
    expect(seen.protoKey).toBeGreaterThan(20);
    fc.assert(
      fc.property(nearBounds, (call) => void check(call)),
      { numRuns: 300 },
    );
    // a call read from JSON within the bounds is always written by the one walk
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' }), awkwardCall, (v, call) => {
        const parsed = JSON.parse(JSON.stringify({ ...call, traits: v })) as unknown;
        if (callBoundsProblem(parsed) === undefined) expect(check(parsed).hashText).toBeDefined();
      }),
      { numRuns: 1_000 },
    );
    // and the ones the general walks judge
    for (const call of [
      nested(63),
      { type: 'identify', userId: 'p1', traits: { x: '\ud800' } },
      { type: 'identify', userId: 'p1', traits: { x: Number.POSITIVE_INFINITY } },
      { type: 'identify', userId: 'p1', traits: { x: { $nonFinite: 'NaN' } } },
      { type: 'identify', userId: 'p1', traits: { at: new Date(0) } },
      // a hole, written as null (a library caller's array; holes and a number that is not finite together throw in nonFinitePaths)
      { type: 'identify', userId: 'p1', traits: { list: new Array<number>(2).fill(1, 1) } },
      { type: 'identify', userId: 'p1', traits: { 'k\udc00': 1 } },
      { type: 'identify', userId: 'p1', traits: { note: 'x'.repeat(MAX_CALL_BYTES) } },
      // a key whose text holds `"__proto__":` after an escaped quote, and a __proto__ key left out of the text (undefined): refused, as JSON.stringify's text has it
      { type: 'identify', userId: 'p1', traits: { 'a"__proto__': 1, o: Object.defineProperty({}, '__proto__', { value: undefined, enumerable: true }) } },
      { type: 'identify', userId: 'p1', traits: { o: Object.defineProperty({}, '__proto__', { value: undefined, enumerable: true }) } },
      { type: 'identify', userId: 'p1', writeKey: JSON.parse('{"__proto__":1}') as unknown },
      JSON.parse('{"type":"identify","userId":"p1","__proto__":{"x__proto__":1}}') as unknown,
      [1],
      'text',
      null,
    ])
      check(call);
  });
});

describe('stableJson', () => {
  it('writes a value of any depth', () => {
    let deep: unknown = [1];
    for (let i = 0; i < 20_000; i++) deep = { b: deep, a: undefined };
    expect(stableJson(deep)).toBe(`${'{"b":'.repeat(20_000)}[1]${'}'.repeat(20_000)}`);
  });
});

describe('deepJsonText', () => {
  it('writes what JSON.stringify writes, at any depth, and throws on a cycle rather than write forever', () => {
    const date = new Date(Date.UTC(2026, 0, 1));
    const shared = { s: 1 };
    const values = [null, 1, 'x"y', [1, undefined, () => 2], { a: undefined, b: [shared, shared], d: date, n: Number.NaN, f: () => 1 }, []];
    for (const v of values) expect(deepJsonText(v)).toBe(JSON.stringify(v));
    let deep: unknown = [];
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    expect(deepJsonText(deep)).toBe(`${'{"a":'.repeat(20_000)}[]${'}'.repeat(20_000)}`);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => deepJsonText(cyclic)).toThrow(TypeError);
  });
});
