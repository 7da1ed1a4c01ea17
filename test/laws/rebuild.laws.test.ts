import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import { Customer360Projector } from '../../src/application/projection/customer360.projector.js';
import { RebuildProjections, ScratchDocs } from '../../src/application/projection/rebuild.use-case.js';
import type { StoredEvent } from '../../src/application/ports/event-store.port.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { arbOps, TENANTS, type CallSpec } from './arbitraries.js';
import { activeStates, describeOnStores, ingest, runOps, runsOn, TIMEOUT } from './support.js';

// A rebuild folds activity and complete merges in place, into mutable builders (rebuild.generation.ts),
// and hands everything else to the projector. That is only allowed if it gives exactly the docs
// of the projector folding every event of the log itself, one doc per event: the same docs, key
// for key and in the same key order, whatever the history (merges, refused merges, unmerges,
// duplicates, restrictions, erasures, calls after them) and wherever the pages of the log end.
// "Rebuild equals live" (projection.laws.test.ts) compares with the live read models as stored
// JSON; this compares with the reference fold exactly.

// decisions are asked through any id of a cluster, an absorbed one too, and merges are undone
// after them: the decisions asked through the absorbed customer go back with it
type GdprOp = { readonly kind: 'restrict' | 'unrestrict' | 'consent' | 'unmerge' | 'erase'; readonly tenant: string; readonly pick: number };
const arbGdpr: fc.Arbitrary<GdprOp> = fc.record({
  kind: fc.constantFrom('restrict', 'unrestrict', 'restrict', 'consent', 'unmerge', 'erase'),
  tenant: fc.constantFrom(...TENANTS),
  pick: fc.nat(),
});

const logOf = async (h: Harness, tenant: string): Promise<StoredEvent[]> => {
  const out: StoredEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await h.ports.store.readAll(tenant, { after, limit: 100 });
    out.push(...page.events);
    if (!page.next) return out;
    after = page.next;
  }
};

const sorted = (docs: ReadonlyMap<string, ViewDoc>): ViewDoc[] => [...docs.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1));

describeOnStores('rebuild generation', (store) => {
  test.prop([arbOps({ tenants: TENANTS, blocked: true }), fc.array(arbGdpr, { maxLength: 6 }), fc.nat({ max: 6 }), fc.constantFrom(1, 2, 7, 1_000)], {
    numRuns: runsOn(store),
  })(
    "the rebuild's in-place fold gives exactly the docs the projector gives folding every event",
    async (ops, gdpr, again, pageSize) => {
      const h = makeHarness({}, { store });
      await runOps(h, ops);
      for (const g of gdpr) {
        const states = await activeStates(h, g.tenant);
        if (states.length === 0) continue;
        const survivor = states[g.pick % states.length]!;
        const ids = states.flatMap((st) => [st.id, ...st.members]);
        const id = ids[g.pick % ids.length]!;
        if (g.kind === 'erase') await h.core.gdpr.erase(g.tenant, survivor.id, { actor: 'law' });
        else if (g.kind === 'unmerge') {
          const merges = [...survivor.merges.keys()];
          if (merges.length > 0) await h.core.identity.unmerge(g.tenant, survivor.id, merges[g.pick % merges.length]!, { actor: 'law' });
        } else if (g.kind === 'consent')
          await h.core.consents.record(g.tenant, id, { purpose: 'marketing', status: g.pick % 2 === 0 ? 'withdrawn' : 'granted' }, { actor: 'law' });
        else await h.core.gdpr[g.kind](g.tenant, id, { actor: 'law' });
      }
      // calls after restrictions and erasures: more activity, new customers with the same identifiers
      const calls = ops.flatMap((o): CallSpec[] => (o.op === 'call' ? [o.call] : []));
      for (const c of calls.slice(0, again)) await ingest(h, { ...c, messageId: `again-${c.seq}` });

      for (const tenant of TENANTS) {
        // each with its own metrics: the rebuild must count what the projector counts
        const [referenceMetrics, rebuildMetrics] = [new MemoryMetrics(), new MemoryMetrics()];
        const projector = new Customer360Projector(h.ports.store, h.ports.keys, h.core.codec, referenceMetrics);
        const reference = new ScratchDocs();
        await projector.apply(tenant, await projector.decodeAll(tenant, await logOf(h, tenant), new Map()), reference);
        const rebuilding = new Customer360Projector(h.ports.store, h.ports.keys, h.core.codec, rebuildMetrics);
        const { scratch, events } = await new RebuildProjections(h.ports.store, h.ports.readModels, rebuilding, h.ports.clock, pageSize).build(tenant);
        expect(rebuildMetrics.snapshot()).toEqual(referenceMetrics.snapshot());
        expect(events).toBe((await logOf(h, tenant)).length);
        expect(Object.fromEntries(scratch.docs)).toStrictEqual(Object.fromEntries(reference.docs));
        // the same keys in the same order: stored JSON is byte for byte the same
        expect(JSON.stringify(sorted(scratch.docs))).toBe(JSON.stringify(sorted(reference.docs)));
      }
    },
    TIMEOUT,
  );
});
