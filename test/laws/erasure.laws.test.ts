import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { Customer360Projector } from '../../src/application/projection/customer360.projector.js';
import { ScratchDocs } from '../../src/application/projection/rebuild.use-case.js';
import type { RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { dumpViews, makeHarness, type Harness } from '../support/harness.js';
import { readAllEvents } from '../support/paging.js';
import { arbDelivery, arbOps, deliver, TENANTS, type CallSpec } from './arbitraries.js';
import { describeOnStores, ingest, runOps, RUNS, runsOn, TIMEOUT } from './support.js';

// docs/architecture.md "GDPR": erasing any customer of any history (merges, unmerges, duplicates, two
// tenants) removes exactly its cluster's read models, changes no other, and replaying the log
// afterwards gives exactly what incremental projection produced, also once new calls reuse the
// erased customer's identifiers. Delivering the log afterwards (DynamoDB Streams, a log follower,
// a log copied by `c360 migrate`), in any order, batches and duplicates, never writes a doc of the
// erased cluster.

/** Each run ingests a whole history, erases and rebuilds twice: a third of LAW_RUNS keeps the default well under 20 s. */
const ERASURE_RUNS = Math.max(1, Math.round(RUNS / 3));

const streamIds = async (h: Harness, tenant: string): Promise<string[]> => [
  ...new Set((await readAllEvents(h.ports.store, tenant, 500)).map((e) => e.streamId)),
];

describeOnStores('erasure', (store) => {
  test.prop([arbOps({ tenants: TENANTS, blocked: true }), fc.nat(), fc.nat({ max: 6 })], { numRuns: runsOn(store, ERASURE_RUNS) })(
    'erasing any customer, then rebuilding from the log, gives the incremental read models',
    async (ops, pick, again) => {
      const h = makeHarness({}, { store });
      await runOps(h, ops);
      // the picked tenant, or the other one when the history left the picked one no stream
      const picked = TENANTS[pick % TENANTS.length]!;
      const candidates = [picked, ...TENANTS.filter((t) => t !== picked)];
      const withStreams = (await Promise.all(candidates.map(async (tenant) => ({ tenant, ids: await streamIds(h, tenant) })))).find((c) => c.ids.length > 0);
      fc.pre(withStreams !== undefined);
      const { tenant, ids } = withStreams;
      const before = await dumpViews(h, tenant);
      const other = TENANTS.find((t) => t !== tenant)!;
      const otherBefore = await dumpViews(h, other);

      const receipt = await h.core.gdpr.erase(tenant, ids[pick % ids.length]!, { actor: 'law' });
      const live = await dumpViews(h, tenant);
      expect(live).toEqual(before.filter((d) => !receipt.customers.includes((d as { customerId: string }).customerId)));
      expect(await dumpViews(h, other)).toEqual(otherBefore);
      await h.core.rebuild.rebuild(tenant);
      expect(await dumpViews(h, tenant)).toEqual(live);

      // calls carrying the same identifiers again start fresh customers; the law still holds
      const calls = ops.flatMap((o): CallSpec[] => (o.op === 'call' && o.call.tenant === tenant ? [o.call] : []));
      for (const c of calls.slice(0, again)) {
        const out = await ingest(h, { ...c, messageId: `again-${c.seq}` });
        if (out.status === 'accepted') expect(receipt.customers).not.toContain(out.customerId);
      }
      const after = await dumpViews(h, tenant);
      await h.core.rebuild.rebuild(tenant);
      expect(await dumpViews(h, tenant)).toEqual(after);
    },
    TIMEOUT,
  );
});

describeOnStores('erasure, delivered', (store) => {
  test.prop([arbOps({ tenants: TENANTS, blocked: true }), fc.nat(), arbDelivery(300), fc.integer({ min: 1, max: 12 })], {
    numRuns: runsOn(store, ERASURE_RUNS),
  })(
    'delivering the log after an erasure, in any order, batches and duplicates, writes no doc of the erased cluster and gives the live read models',
    async (ops, pick, delivery, batch) => {
      const h = makeHarness({}, { store });
      await runOps(h, ops);
      const tenant = TENANTS[pick % TENANTS.length]!;
      const ids = await streamIds(h, tenant);
      fc.pre(ids.length > 0);
      const receipt = await h.core.gdpr.erase(tenant, ids[pick % ids.length]!, { actor: 'law' });
      const live = await dumpViews(h, tenant);
      // each event at least once, in any order, decoded with the keys there are now (the erased ones destroyed)
      const events: RecordedEvent[] = [];
      for (const s of await readAllEvents(h.ports.store, tenant, 500))
        events.push(h.core.codec.decode(s, s.pii === undefined ? null : await h.ports.keys.get(tenant, s.streamId)));
      const delivered = deliver(events, delivery);
      const docs = new ScratchDocs();
      const written: string[] = [];
      const put = docs.put.bind(docs);
      docs.put = async (t: string, doc: ViewDoc) => {
        if (receipt.customers.includes(doc.customerId)) written.push(`${doc.kind} ${doc.customerId}`);
        return put(t, doc);
      };
      const projector = new Customer360Projector(h.ports.store, h.ports.keys, h.core.codec, new MemoryMetrics());
      for (let i = 0; i < delivered.length; i += batch) await projector.apply(tenant, delivered.slice(i, i + batch), docs, new Map());
      expect(written).toEqual([]);
      expect(JSON.parse(JSON.stringify([...docs.docs.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1))))).toEqual(live);
    },
    TIMEOUT,
  );
});
