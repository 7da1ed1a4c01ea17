import { test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import { Customer360Projector } from '../../src/application/projection/customer360.projector.js';
import { ScratchDocs } from '../../src/application/projection/rebuild.use-case.js';
import type { RecordedEvent } from '../../src/domain/customer/customer.events.js';
import type { TraitFact } from '../../src/domain/projection/customer360.js';
import { dumpViews, makeHarness, type Harness } from '../support/harness.js';
import { readAllEvents } from '../support/paging.js';
import {
  arbDelivery,
  arbHistory,
  arbOps,
  arbPermutedHistory,
  deliver,
  identifiersOf,
  observedAtOf,
  OPEN_RULES,
  PURPOSES,
  TENANTS,
  traitsOf,
  type CallSpec,
} from './arbitraries.js';
import { describeOnStores, ingest, json, label, runOps, runsOn, TIMEOUT, viewsOf } from './support.js';

// docs/architecture.md "Identity laws" about what the read models show: traits merge by last writer wins,
// consent by the latest decision, and replaying the log equals what was projected live.

const PRIORITY: Readonly<Record<CallSpec['source'], number>> = { web: 10, crm: 50 };

/** The calls of the cluster a call joined: under rules where nothing intervenes, its component. */
const clusterOf = (seen: readonly CallSpec[], call: CallSpec): CallSpec[] => {
  const parent = new Map<string, string>();
  const find = (x: string): string => (parent.get(x) === undefined || parent.get(x) === x ? x : find(parent.get(x)!));
  const ids = (c: CallSpec) =>
    identifiersOf(c)
      .filter((i) => !i.blocked)
      .map((i) => label(i.type, i.value));
  for (const c of seen) {
    if (c.tenant !== call.tenant) continue;
    const [first, ...rest] = ids(c);
    for (const id of rest) if (find(id) !== find(first!)) parent.set(find(id), find(first!));
  }
  const root = find(ids(call)[0]!);
  return seen.filter((c) => c.tenant === call.tenant && ids(c).length > 0 && find(ids(c)[0]!) === root);
};

type Stamp = { readonly observedAt: number; readonly sourcePriority: number };
const byStamp = (a: Stamp, b: Stamp) => a.observedAt - b.observedAt || a.sourcePriority - b.sourcePriority;

/** Per trait: the winning stamp and the values written with it (several only on an exact tie). */
const expectedTraits = (calls: readonly CallSpec[]) => {
  const out = new Map<string, { stamp: Stamp; source: string; values: Set<string> }>();
  for (const c of calls) {
    const stamp = { observedAt: observedAtOf(c), sourcePriority: PRIORITY[c.source] };
    for (const [name, value] of Object.entries(traitsOf(c))) {
      const prev = out.get(name);
      const order = prev ? byStamp(stamp, prev.stamp) : 1;
      if (order > 0) out.set(name, { stamp, source: c.source, values: new Set([value]) });
      else if (order === 0) prev!.values.add(value);
    }
  }
  return out;
};

const lww = (a: TraitFact, b: TraitFact) => byStamp(a, b) || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

/** Every committed event of a tenant, decoded with the customers' keys, in log order. */
const committed = async (h: Harness, tenant: string): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for (const s of await readAllEvents(h.ports.store, tenant, 100))
    out.push(h.core.codec.decode(s, s.pii === undefined ? null : await h.ports.keys.get(tenant, s.streamId)));
  return out;
};

describeOnStores('trait merge', (store) => {
  test.prop([arbPermutedHistory({ identifyWeight: 6 })], { numRuns: runsOn(store) })(
    'traits are last-writer-wins by (observedAt, source priority, event id), whatever the arrival order',
    async ({ history, permuted }) => {
      const finals: unknown[] = [];
      for (const calls of [history, permuted]) {
        const h = makeHarness({ identityRules: OPEN_RULES }, { store });
        const seen: CallSpec[] = [];
        for (const c of calls) {
          const out = await ingest(h, c);
          seen.push(c);
          // an identical call without a messageId is the same message: a duplicate that changes nothing
          if (out.status === 'duplicate') continue;
          if (out.status !== 'accepted') throw new Error(`call ${c.seq} was not accepted: ${JSON.stringify(out)}`);
          // after every call of the first order (itself random); the second is compared at the end
          if (calls === permuted) continue;
          const doc = await h.ports.readModels.get(c.tenant, out.customerId);
          if (doc?.kind !== 'view') throw new Error(`no view for ${out.customerId}`);
          // one comparison per call; on an exact tie any of the tied values may win
          const expected = expectedTraits(clusterOf(seen, c));
          const tied = (name: string, value: unknown) => (expected.get(name)?.values.has(value as string) ? [...expected.get(name)!.values].sort() : value);
          expect({
            call: c.seq,
            traits: Object.fromEntries(
              Object.entries(doc.view.traits).map(([n, t]) => [
                n,
                { observedAt: t.observedAt, sourcePriority: t.sourcePriority, source: t.source, value: tied(n, t.value) },
              ]),
            ),
          }).toEqual({
            call: c.seq,
            traits: Object.fromEntries([...expected].map(([n, e]) => [n, { ...e.stamp, source: e.source, value: [...e.values].sort() }])),
          });
        }
        // exactly last-writer-wins over the recorded TraitsUpdated events, event id breaking ties
        const events = await committed(h, 'acme');
        const views = await viewsOf(h, 'acme');
        for (const d of views) {
          const cluster = new Set(Object.keys(d.applied));
          const expected: Record<string, TraitFact> = {};
          for (const r of events) {
            if (!cluster.has(r.streamId) || r.event.type !== 'TraitsUpdated') continue;
            for (const name of r.event.data.names) {
              const fact: TraitFact = {
                observedAt: r.observedAt,
                sourcePriority: r.sourcePriority,
                eventId: r.eventId,
                value: r.event.pii?.traits[name] ?? null,
                source: r.source,
              };
              if (!expected[name] || lww(fact, expected[name]) > 0) expected[name] = fact;
            }
          }
          expect(d.view.traits).toEqual(expected);
        }
        // event ids differ between arrival orders, the winning writes may not
        const byCluster = views.map(
          (d) =>
            [
              Object.values(d.view.identifiers)
                .map((i) => label(i.type, i.value ?? ''))
                .sort()
                .join(' '),
              Object.entries(d.view.traits)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([n, t]) => [n, t.value, t.observedAt, t.source]),
            ] as const,
        );
        finals.push(json(byCluster.sort((a, b) => (a[0] < b[0] ? -1 : 1))));
      }
      expect(finals[1]).toEqual(finals[0]);
    },
    TIMEOUT,
  );
});

describeOnStores('consent', (store) => {
  test.prop([arbHistory({ identifyWeight: 3 })], { numRuns: runsOn(store) })(
    'per purpose the latest decision across the cluster wins; a tie of different answers is not a grant',
    async (history) => {
      const h = makeHarness({ identityRules: OPEN_RULES }, { store });
      const seen: CallSpec[] = [];
      for (const c of history) {
        const out = await ingest(h, c);
        seen.push(c);
        if (out.status === 'duplicate') continue; // an identical call without a messageId
        if (out.status !== 'accepted') throw new Error(`call ${c.seq} was not accepted: ${JSON.stringify(out)}`);
        const cluster = clusterOf(seen, c);
        const r = await h.core.queries.get360(c.tenant, out.customerId);
        if (r.kind !== 'view') throw new Error(`${out.customerId} should be a view`);
        const expected: Record<string, { granted: boolean; status: string; at: string }> = {};
        for (const purpose of PURPOSES) {
          // a decision's time is its call's, never after the call was received (the clock stays at NOW)
          const decidedAt = (x: CallSpec) => Math.min(observedAtOf(x), h.clock.now());
          const decisions = cluster.flatMap((x) => (x.consent?.[purpose] === undefined ? [] : [{ at: decidedAt(x), granted: x.consent[purpose]! }]));
          if (decisions.length === 0) continue;
          const at = Math.max(...decisions.map((d) => d.at));
          const answers = new Set(decisions.filter((d) => d.at === at).map((d) => d.granted));
          const status = answers.size > 1 ? 'conflicting' : answers.has(true) ? 'granted' : 'withdrawn';
          expected[purpose] = { granted: status === 'granted', status, at: new Date(at).toISOString() };
          // a purpose no member of the cluster ever granted is never granted by a merge
          if (!decisions.some((d) => d.granted)) expected[purpose]!.granted = false;
        }
        const actual = Object.fromEntries(Object.entries(r.customer.consents).map(([p, x]) => [p, { granted: x.granted, status: x.status, at: x.at }]));
        expect({ call: c.seq, consents: actual }).toEqual({ call: c.seq, consents: expected });
      }
    },
    TIMEOUT,
  );
});

describeOnStores('rebuild equals live', (store) => {
  test.prop([arbOps({ tenants: TENANTS, blocked: true }), arbDelivery(300)], { numRuns: runsOn(store) })(
    'replaying the log, or delivering it in any order with duplicates, gives exactly the live read models',
    async (ops, delivery) => {
      const h = makeHarness({}, { store });
      await runOps(h, ops);
      for (const tenant of TENANTS) {
        const live = await dumpViews(h, tenant);
        // DynamoDB Streams: each committed event at least once, in any order; gaps are re-read from the log
        const scratch = new ScratchDocs();
        const projector = new Customer360Projector(h.ports.store, h.ports.keys, h.core.codec, new MemoryMetrics());
        await projector.apply(tenant, deliver(await committed(h, tenant), delivery), scratch);
        expect(json([...scratch.docs.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1)))).toEqual(live);
        await h.core.rebuild.rebuild(tenant);
        expect(await dumpViews(h, tenant)).toEqual(live);
      }
    },
    TIMEOUT,
  );
});
