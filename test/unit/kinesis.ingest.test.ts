import { describe, expect, it, vi } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { ingestKinesisRecords, type KinesisInputRecord } from '../../src/adapters/kinesis/kinesis.ingest.js';
import { encodeKinesisCall, envelopeKey } from '../../src/adapters/kinesis/kinesis.record.js';
import { makeHarness, type Harness } from '../support/harness.js';

// A batch of Kinesis records into the core: the shared part of the consumer and the Lambda
// handler. Poison records are quarantined (not failures); a store that fails makes a failure,
// and nothing of the same key overtakes it; different keys run side by side.

const TENANT = 'acme';
const ENVELOPE_KEY = envelopeKey('a-claim-secret-of-at-least-32-characters');
const auth = new StaticAuthenticator([{ id: 'web-key', tenant: TENANT, kind: 'writeKey', secret: 'wk-web', scopes: ['ingest'], source: 'web' }]);
const sourceOf = (h: Harness) => (_t: string, name: string) =>
  name === 'web' ? h.web : name === 'crm' ? h.crm : { name, priority: 0, channel: 'other' as const };

let seq = 0;
const record = (partitionKey: string, call: unknown, envelope = true): KinesisInputRecord => ({
  sequenceNumber: String(++seq).padStart(6, '0'),
  partitionKey,
  data: envelope ? encodeKinesisCall({ tenant: TENANT, source: 'crm', call }, ENVELOPE_KEY) : new TextEncoder().encode(JSON.stringify(call)),
});
const track = (userId: string, n: number) => ({ type: 'track', messageId: `${userId}-${n}`, userId, event: `Step ${n}` });

describe('ingestKinesisRecords', () => {
  it('ingests envelopes and bare calls, and quarantines a poison record without failing the batch', async () => {
    const h = makeHarness();
    const records = [
      record('k1', { type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { email: 'ada@example.com' } }),
      { sequenceNumber: 'poison', partitionKey: 'k1', data: new Uint8Array([0xff, 0x00, 0xfe]) },
      record('k1', { ...track('u-1', 1), writeKey: 'wk-web' }, false),
    ];
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(failures).toEqual([]);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['accepted', 'quarantined', 'accepted']);
    const held = await h.ports.quarantine.list(TENANT, { limit: 10 });
    expect(held.entries).toMatchObject([
      { source: 'kinesis', reason: { code: 'UNDECODABLE_RECORD' }, payload: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') },
    ]);
    const customer = await h.core.queries.findByIdentifier(TENANT, 'email', 'ada@example.com');
    expect(customer.kind).toBe('view');
  });

  it('keeps a refused record read again (a retried batch) in the quarantine entry that holds it', async () => {
    const h = makeHarness();
    const records = [
      { sequenceNumber: 'poison-1', partitionKey: 'k1', data: new Uint8Array([0xff, 0x00, 0xfe]) },
      record('k2', { type: 'track', userId: 'u-refused', writeKey: 'wk-web' }, false),
    ];
    const first = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    const again = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(first.outcomes.map((o) => o.outcome.status)).toEqual(['quarantined', 'quarantined']);
    const ids = (r: typeof first) => r.outcomes.map((o) => (o.outcome.status === 'quarantined' ? o.outcome.quarantineId : undefined));
    expect(ids(again)).toEqual(ids(first));
    expect((await h.ports.quarantine.list(TENANT, { limit: 10 })).entries).toHaveLength(2);
    // an equal record at another place of the stream is another arrival: kept apart
    const elsewhere = await ingestKinesisRecords(h.core, sourceOf(h), [{ ...records[0]!, sequenceNumber: 'poison-2' }], {
      auth,
      envelopeKey: ENVELOPE_KEY,
      defaultTenant: TENANT,
    });
    expect(ids(elsewhere)[0]).not.toBe(ids(first)[0]);
  });

  it('keeps a refused envelope without messageId or timestamp, read again, in the entry that holds it: its sequence number is its arrival', async () => {
    const h = makeHarness();
    const receivedAt = h.clock.now() - 1_000;
    // as encodeKinesisCall writes it for a producer of one's own, with the time the call was
    // received (the queued intake would have given the call a messageId first)
    const refused = { type: 'track', userId: 'u-env', event: '' };
    const records = [1, 2].map(() => ({
      ...record('k3', refused),
      data: encodeKinesisCall({ tenant: TENANT, source: 'crm', receivedAt, call: refused }, ENVELOPE_KEY),
    }));
    const first = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(first.outcomes.map((o) => o.outcome)).toMatchObject([
      { status: 'quarantined', error: { code: 'VALIDATION_FAILED' } },
      { status: 'quarantined', error: { code: 'VALIDATION_FAILED' } },
    ]);
    const ids = (r: typeof first) => r.outcomes.map((o) => (o.outcome.status === 'quarantined' ? o.outcome.quarantineId : undefined));
    // two equal records at two places of the stream are two arrivals, two entries
    expect(new Set(ids(first)).size).toBe(2);
    // the shard read again (a retried batch, a restarted consumer): the same entries, no copies
    const again = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(ids(again)).toEqual(ids(first));
    const held = (await h.ports.quarantine.list(TENANT, { limit: 10 })).entries;
    expect(held).toHaveLength(2);
    expect(held).toMatchObject([
      { source: 'crm', receivedAt, payload: refused },
      { source: 'crm', receivedAt, payload: refused },
    ]);
  });

  it('ingests an envelope without messageId or timestamp queued twice (a producer retry) once, whatever its sequence numbers', async () => {
    const h = makeHarness();
    const receivedAt = h.clock.now() - 1_000;
    const added = { type: 'track', userId: 'u-env-ok', event: 'Product Added', properties: { product_id: 'p-1' } };
    const records = [1, 2].map(() => ({
      ...record('k4', added),
      data: encodeKinesisCall({ tenant: TENANT, source: 'crm', receivedAt, call: added }, ENVELOPE_KEY),
    }));
    const { outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['accepted', 'duplicate']);
  });

  it('takes two equal bare calls without messageId or timestamp, arrived in the same millisecond, as two calls, and a redelivery as the same', async () => {
    const h = makeHarness();
    const added = { type: 'track', userId: 'u-bare', event: 'Product Added', properties: { product_id: 'p-1' }, writeKey: 'wk-web' };
    const arrivedAt = h.clock.now() - 1_000;
    const records = [record('k9', added, false), record('k9', added, false)].map((r) => ({ ...r, arrivedAt }));
    const first = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(first.outcomes.map((o) => o.outcome.status)).toEqual(['accepted', 'accepted']);
    // the shard read again from the first of them (a failed batch, a restarted consumer)
    const again = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(again.outcomes.map((o) => o.outcome.status)).toEqual(['duplicate', 'duplicate']);
  });

  it('reports a failing store as failures, and holds back the later records of that key only', async () => {
    const h = makeHarness();
    const commit = h.ports.store.commit.bind(h.ports.store);
    vi.spyOn(h.ports.store, 'commit').mockRejectedValueOnce(new Error('store unavailable')).mockImplementation(commit);
    const records = [record('a', track('u-a', 1)), record('a', track('u-a', 2)), record('b', track('u-b', 1)), record('b', track('u-b', 2))];
    const { failures, outcomes, cause } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, concurrency: 1 });
    expect(failures).toEqual([records[0]!.sequenceNumber, records[1]!.sequenceNumber]);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['failed', 'failed', 'accepted', 'accepted']);
    expect(outcomes[1]!.outcome).toMatchObject({ error: expect.stringContaining('earlier record of its partition key') });
    // the cause, for the log line: the first failure's class and message
    expect(cause).toEqual({ name: 'Error', message: 'store unavailable' });
    expect(outcomes[1]!.outcome).toMatchObject({ cause: { name: 'Error', message: 'store unavailable' } });
    expect(h.ports.metrics.get('ingest_accepted')).toBe(2);
  });

  it('keeps each key in order while different keys interleave', async () => {
    const h = makeHarness();
    const log: string[] = [];
    const ingest = h.core.ingest.ingest.bind(h.core.ingest);
    vi.spyOn(h.core.ingest, 'ingest').mockImplementation(async (tenant, source, raw, at) => {
      const id = (raw as { messageId: string }).messageId;
      log.push(`start ${id}`);
      const out = await ingest(tenant, source, raw, at);
      log.push(`end ${id}`);
      return out;
    });
    const records = [1, 2, 3, 4].flatMap((n) => [record('a', track('u-a', n)), record('b', track('u-b', n))]);
    const { failures } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY });
    expect(failures).toEqual([]);
    for (const user of ['u-a', 'u-b']) {
      const own = log.filter((l) => l.includes(user));
      expect(own).toEqual([1, 2, 3, 4].flatMap((n) => [`start ${user}-${n}`, `end ${user}-${n}`]));
    }
    // the two keys overlapped: b started before a was done
    expect(log.indexOf('start u-b-1')).toBeLessThan(log.indexOf('end u-a-4'));
  });
  it('quarantines a record nested 10,000 deep (NESTING_TOO_DEEP), never a failure, and goes on with its key', async () => {
    const h = makeHarness();
    const text = `{"type":"identify","userId":"p1","writeKey":"wk-web","traits":{"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}}`;
    const records = [
      { sequenceNumber: 'deep', partitionKey: 'p1', data: new TextEncoder().encode(text) },
      record('p1', { type: 'identify', messageId: 'after-deep', userId: 'p1', writeKey: 'wk-web' }, false),
    ];
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(failures).toEqual([]);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['quarantined', 'accepted']);
    const held = outcomes[0]!.outcome as { quarantineId: string; error: { code: string } };
    expect(held.error.code).toBe('NESTING_TOO_DEEP');
    // kept whole as its text (it is within the 64 KB a refused record is kept whole up to), without the write key
    expect(text.length).toBeLessThan(64 * 1024);
    const entry = await h.ports.quarantine.get(TENANT, held.quarantineId);
    expect(entry?.payload).toBe(text.replace('"writeKey":"wk-web",', ''));
  });

  it('holds stream records to the bounds of the HTTP API: 100 levels deep and 40 KB are quarantined', async () => {
    const h = makeHarness();
    let deep: unknown = 1;
    for (let i = 0; i < 98; i++) deep = { a: deep };
    const records = [
      record('k', { type: 'identify', messageId: 'd100', userId: 'p1', traits: { x: deep } }),
      record('k', { type: 'track', messageId: 'big', userId: 'p1', event: 'E', properties: { s: 'x'.repeat(40_000) } }),
      record('k', { type: 'track', messageId: 'big-bare', userId: 'p1', event: 'E', properties: { s: 'x'.repeat(40_000) }, writeKey: 'wk-web' }, false),
    ];
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY, defaultTenant: TENANT });
    expect(failures).toEqual([]);
    expect(outcomes.map((o) => [o.outcome.status, (o.outcome as { error?: { code: string } }).error?.code])).toEqual([
      ['quarantined', 'NESTING_TOO_DEEP'],
      ['quarantined', 'CALL_TOO_LARGE'],
      ['quarantined', 'CALL_TOO_LARGE'],
    ]);
  });

  it('quarantines a record whose processing fails the same way every time (a RangeError), and goes on with its key', async () => {
    const h = makeHarness();
    const ingest = h.core.ingest.ingest.bind(h.core.ingest);
    vi.spyOn(h.core.ingest, 'ingest').mockRejectedValueOnce(new RangeError('Maximum call stack size exceeded')).mockImplementation(ingest);
    const records = [record('a', track('u-a', 1)), record('a', track('u-a', 2))];
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, envelopeKey: ENVELOPE_KEY });
    expect(failures).toEqual([]);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['quarantined', 'accepted']);
    const held = outcomes[0]!.outcome as { quarantineId: string; error: { code: string; message: string } };
    expect(held.error).toMatchObject({ code: 'INTERNAL_ERROR', message: expect.stringContaining('(RangeError)') });
    // kept as the call, replayed once the fault is gone
    expect(await h.core.quarantine.replay(TENANT, held.quarantineId)).toMatchObject({ status: 'accepted' });
  });

  it("reads again a record whose processing met a driver's passing TypeError (a connection closed in a shutdown), and quotes no message", async () => {
    const h = makeHarness();
    vi.spyOn(h.core.ingest, 'ingest').mockRejectedValueOnce(new TypeError('The database connection is not open'));
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), [record('a', track('u-a', 1))], { auth, envelopeKey: ENVELOPE_KEY });
    expect(failures).toHaveLength(1);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['failed']);
    expect((await h.ports.quarantine.list(TENANT, { limit: 10 })).entries).toEqual([]);
  });
});
