import { describe, expect, it, vi } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { ingestKinesisRecords, type KinesisInputRecord } from '../../src/adapters/kinesis/kinesis.ingest.js';
import { encodeKinesisCall } from '../../src/adapters/kinesis/kinesis.record.js';
import { makeHarness, type Harness } from '../support/harness.js';

// A batch of Kinesis records into the core: the shared part of the consumer and the Lambda
// handler. Poison records are quarantined (not failures); a store that fails makes a failure,
// and nothing of the same key overtakes it; different keys run side by side.

const TENANT = 'acme';
const auth = new StaticAuthenticator([{ id: 'web-key', tenant: TENANT, kind: 'writeKey', secret: 'wk-web', scopes: ['ingest'], source: 'web' }]);
const sourceOf = (h: Harness) => (_t: string, name: string) =>
  name === 'web' ? h.web : name === 'crm' ? h.crm : { name, priority: 0, channel: 'other' as const };

let seq = 0;
const record = (partitionKey: string, call: unknown, envelope = true): KinesisInputRecord => ({
  sequenceNumber: String(++seq).padStart(6, '0'),
  partitionKey,
  data: envelope ? encodeKinesisCall({ tenant: TENANT, source: 'crm', call }) : new TextEncoder().encode(JSON.stringify(call)),
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
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, defaultTenant: TENANT });
    expect(failures).toEqual([]);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['accepted', 'quarantined', 'accepted']);
    const held = await h.ports.quarantine.list(TENANT, { limit: 10 });
    expect(held.entries).toMatchObject([
      { source: 'kinesis', reason: { code: 'UNDECODABLE_RECORD' }, payload: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') },
    ]);
    const customer = await h.core.queries.findByIdentifier(TENANT, 'email', 'ada@example.com');
    expect(customer.kind).toBe('view');
  });

  it('takes two equal bare calls without messageId or timestamp, arrived in the same millisecond, as two calls, and a redelivery as the same', async () => {
    const h = makeHarness();
    const added = { type: 'track', userId: 'u-bare', event: 'Product Added', properties: { product_id: 'p-1' }, writeKey: 'wk-web' };
    const arrivedAt = h.clock.now() - 1_000;
    const records = [record('k9', added, false), record('k9', added, false)].map((r) => ({ ...r, arrivedAt }));
    const first = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, defaultTenant: TENANT });
    expect(first.outcomes.map((o) => o.outcome.status)).toEqual(['accepted', 'accepted']);
    // the shard read again from the first of them (a failed batch, a restarted consumer)
    const again = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, defaultTenant: TENANT });
    expect(again.outcomes.map((o) => o.outcome.status)).toEqual(['duplicate', 'duplicate']);
  });

  it('reports a failing store as failures, and holds back the later records of that key only', async () => {
    const h = makeHarness();
    const commit = h.ports.store.commit.bind(h.ports.store);
    vi.spyOn(h.ports.store, 'commit').mockRejectedValueOnce(new Error('store unavailable')).mockImplementation(commit);
    const records = [record('a', track('u-a', 1)), record('a', track('u-a', 2)), record('b', track('u-b', 1)), record('b', track('u-b', 2))];
    const { failures, outcomes } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth, concurrency: 1 });
    expect(failures).toEqual([records[0]!.sequenceNumber, records[1]!.sequenceNumber]);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['failed', 'failed', 'accepted', 'accepted']);
    expect(outcomes[1]!.outcome).toMatchObject({ error: expect.stringContaining('earlier record of its partition key') });
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
    const { failures } = await ingestKinesisRecords(h.core, sourceOf(h), records, { auth });
    expect(failures).toEqual([]);
    for (const user of ['u-a', 'u-b']) {
      const own = log.filter((l) => l.includes(user));
      expect(own).toEqual([1, 2, 3, 4].flatMap((n) => [`start ${user}-${n}`, `end ${user}-${n}`]));
    }
    // the two keys overlapped: b started before a was done
    expect(log.indexOf('start u-b-1')).toBeLessThan(log.indexOf('end u-a-4'));
  });
});
