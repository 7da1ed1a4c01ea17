import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { dumpViews, makeHarness, type Harness } from '../support/harness.js';
import { readAllEvents } from '../support/paging.js';
import { arbOps, TENANTS, type CallSpec } from './arbitraries.js';
import { describeOnStores, ingest, runOps, RUNS, runsOn, TIMEOUT } from './support.js';

// docs/architecture.md "GDPR": erasing any customer of any history (merges, unmerges, duplicates, two
// tenants) removes exactly its cluster's read models, changes no other, and replaying the log
// afterwards gives exactly what incremental projection produced, also once new calls reuse the
// erased customer's identifiers.

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
