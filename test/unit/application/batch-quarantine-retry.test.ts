import { afterEach, describe, expect, it } from 'vitest';
import type { IngestOutcome } from '../../../src/application/ingest/ingest.use-case.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';
import { accepted, TENANT } from './ingest-support.js';

// A batch sent again (a Segment SDK retries the whole batch when it did not get the answer; an
// import of an unchanged file sends the same batches) adds no second quarantine entry for its
// refused calls: it is answered with the entry that holds them already, as a single call sent again
// is. What identifies a repeat: the same request, every call of it and its shared fields, with the
// transport fields an SDK sets anew on each try (`sentAt`) left out, and every refused call with a
// messageId or timestamp of its own. Any other difference is another batch, another entry.

afterEach(closeHarnesses);

const ids = (out: readonly IngestOutcome[]) => [...new Set(out.flatMap((o) => (o.status === 'quarantined' ? [o.quarantineId] : [])))];
const entries = async (h: Harness) => (await h.core.quarantine.list(TENANT, { limit: 500 })).entries;

/** refused by the core (a negative revenue), not by its shape: the route passes such calls to ingestBatch */
const refusedCall = (messageId: string, userId = 'bq-1') => ({
  type: 'track',
  userId,
  messageId,
  event: 'Order Completed',
  properties: { revenue: -5 },
});

describe.each(['memory', 'sqlite'] as const)('a batch sent again (on %s)', (store) => {
  it('is answered with the entry that holds its refused calls already, also when the SDK set a new sentAt', async () => {
    const h = makeHarness({}, { store });
    const body = { sentAt: '2026-12-07T00:00:00.000Z', batch: [refusedCall('bq-m1'), { type: 'identify', userId: 'bq-2', messageId: 'bq-m2' }] };
    const first = await h.core.ingest.ingestBatch(TENANT, h.web, body);
    expect(first.map((o) => o.status)).toEqual(['quarantined', 'accepted']);
    const again = await h.core.ingest.ingestBatch(TENANT, h.web, body);
    expect(again.map((o) => o.status)).toEqual(['quarantined', 'duplicate']);
    const retried = await h.core.ingest.ingestBatch(TENANT, h.web, { ...body, sentAt: '2026-12-07T00:00:05.000Z' });
    expect(ids(again)).toEqual(ids(first));
    expect(ids(retried)).toEqual(ids(first));
    expect((await entries(h)).map((e) => e.id)).toEqual(ids(first));
  });

  it('the calls the edge refused with those the core refused: the same entry for the same request', async () => {
    const h = makeHarness({}, { store });
    const edgeRefused = {
      index: 0,
      call: { type: 'track', userId: 'bq-1', messageId: 'bq-e1' },
      reason: { code: 'VALIDATION_FAILED', message: 'event is required', issues: [{ path: 'event', message: 'Required' }] },
    };
    const send = () =>
      h.core.ingest.ingestBatch(TENANT, h.web, { batch: [refusedCall('bq-c1')] }, undefined, { indexes: [1], total: 2, refused: [edgeRefused] });
    const [first, second] = [await send(), await send()];
    expect(ids(first)).toHaveLength(1);
    expect(ids(second)).toEqual(ids(first));
    expect(await entries(h)).toHaveLength(1);
  });

  it('two different batches are never one entry: another call (even an accepted one), other shared fields, another place', async () => {
    const h = makeHarness({}, { store });
    const base = { batch: [refusedCall('bq-d1'), { type: 'identify', userId: 'bq-3', messageId: 'bq-d2' }] };
    const variants = [
      base,
      // the same refused call beside another accepted one
      { batch: [refusedCall('bq-d1'), { type: 'identify', userId: 'bq-4', messageId: 'bq-d3' }] },
      // the same calls with another context
      { ...base, context: { library: { name: 'analytics-ios' } } },
      // the refused call at another place
      { batch: [base.batch[1], refusedCall('bq-d1')] },
    ];
    const got: string[] = [];
    for (const v of variants) got.push(...ids(await h.core.ingest.ingestBatch(TENANT, h.web, v)));
    expect(new Set(got).size).toBe(variants.length);
    expect(await entries(h)).toHaveLength(variants.length);
  });

  it('a refused call with neither messageId nor timestamp is a new call each time: its batch a new entry each time', async () => {
    const h = makeHarness({}, { store });
    const { messageId: _none, ...anonymous } = refusedCall('x');
    const body = { batch: [anonymous, refusedCall('bq-k1')] };
    const first = await h.core.ingest.ingestBatch(TENANT, h.web, body);
    const second = await h.core.ingest.ingestBatch(TENANT, h.web, body);
    expect(ids(second)).not.toEqual(ids(first));
    expect(await entries(h)).toHaveLength(2);
    // a timestamp of its own is enough to know it again
    const dated = { batch: [{ ...anonymous, timestamp: '2026-12-06T10:00:00Z' }] };
    expect(ids(await h.core.ingest.ingestBatch(TENANT, h.web, dated))).toEqual(ids(await h.core.ingest.ingestBatch(TENANT, h.web, dated)));
  });

  it('once an erasure took calls out of its entry, the batch sent again is kept anew, whole', async () => {
    const h = makeHarness({}, { store });
    const gina = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'g', userId: 'gina-1', traits: { email: 'gina@example.com' } }),
    );
    const body = { batch: [refusedCall('bq-r1', 'gina-1'), refusedCall('bq-r2', 'hank-1')] };
    const [first] = ids(await h.core.ingest.ingestBatch(TENANT, h.web, body));
    await h.core.gdpr.erase(TENANT, gina.customerId, { actor: 'dpo' });
    expect(((await h.ports.quarantine.get(TENANT, first!))!.payload as { batch: unknown[] }).batch).toHaveLength(1);
    // sent after the erasure: new data, kept whole, not answered by the entry that no longer holds it
    const [after] = ids(await h.core.ingest.ingestBatch(TENANT, h.web, body));
    expect(after).not.toBe(first);
    expect(((await h.ports.quarantine.get(TENANT, after!))!.payload as { batch: unknown[] }).batch).toEqual(body.batch);
  });
});
