import { test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { makeHarness, type Harness, type StoreKind } from '../support/harness.js';
import { arbHistory, OPEN_RULES, TENANTS, toSegment, type CallSpec } from './arbitraries.js';
import { canonical, components, describeOnStores, ingestAll, label, RUNS, TIMEOUT, viewsOf } from './support.js';

// Group commit: calls that arrive together are decided concurrently (calls sharing an identifier
// keep their order) and their writes committed together. Whatever grouping the store made, the
// outcome must be one that committing the calls one by one, in arrival order, also gives: the same
// customers (groups of identifiers), the same facts per customer, every call stored once.

/** The core on the memory store, or on the SQLite stores, whose event store really groups commits. */
const harnessOn = (store: StoreKind): { h: Harness; groups: () => number } => {
  const h = makeHarness({ identityRules: OPEN_RULES }, { store });
  const events = h.ports.store;
  return { h, groups: () => (events instanceof SqliteEventStore ? events.stats.commits - events.stats.transactions : 0) };
};

/** All calls at once: each takes its identifiers' locks before its first await, in arrival order. */
const ingestTogether = (h: Harness, calls: readonly CallSpec[]) =>
  Promise.all(calls.map((c) => h.core.ingest.ingest(c.tenant, c.source === 'crm' ? h.crm : h.web, toSegment(c))));

/** Per customer, keyed by its identifiers: what a user reads, without ids that depend on timing. */
const facts = async (h: Harness, tenant: string) => {
  const views = await viewsOf(h, tenant);
  return Object.fromEntries(
    views
      .map((d) => {
        const v = d.view;
        const key = canonical([Object.values(v.identifiers).map((i) => label(i.type, i.value ?? '?'))])[0]?.join(' ') ?? '';
        // the order-independent facts (the trait and consent laws cover the rest): which call
        // triggers a merge may differ between two orders that both keep per-identifier order
        const consents = Object.fromEntries(Object.entries(v.consents).map(([k, c]) => [k, { at: c.at, answers: [...c.answers].sort() }]));
        // an order's eventId names the call's event, whose index in the call depends on whether
        // that call or an earlier one linked an identifier first: the order's facts stay
        const byId = v.orders.byId && Object.fromEntries(Object.entries(v.orders.byId).map(([id, { eventId: _, ...o }]) => [id, o]));
        return [key, { consents, orders: { ...v.orders, byId }, firstSeenAt: v.firstSeenAt, lastSeenAt: v.lastSeenAt }] as const;
      })
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
};

describeOnStores('group commit', (store) => {
  let grouped = 0;
  test.prop([arbHistory({ tenants: TENANTS, blocked: true })], { numRuns: Math.ceil(RUNS / 5) })(
    'ingesting calls together gives the customers and facts of ingesting them one by one',
    async (history) => {
      const one = harnessOn(store);
      const alone = await ingestAll(one.h, history);
      const together = harnessOn(store);
      const outcomes = await ingestTogether(together.h, history);
      grouped += together.groups();
      for (const tenant of TENANTS) {
        expect(canonical(Object.keys(await facts(together.h, tenant)).map((k) => k.split(' ').filter(Boolean)))).toEqual(components(history, tenant));
        expect(await facts(together.h, tenant)).toEqual(await facts(one.h, tenant));
      }
      // every call got the outcome status it gets alone
      expect(outcomes.map((o) => o.status)).toEqual(alone.map((o) => o.status));
      // every accepted call was recorded, once: sent again, each is a duplicate, as alone
      const again = await ingestAll(together.h, history);
      expect(again.map((o) => o.status)).toEqual(outcomes.map((o) => (o.status === 'accepted' ? 'duplicate' : o.status)));
      expect(again.map((o) => o.status)).toEqual((await ingestAll(one.h, history)).map((o) => o.status));
      // and the log holds events of accepted calls only. Which calls hold events may differ from
      // alone: in another order that keeps per-identifier order, a merge that an alias made alone
      // was already made by a call sharing none of its identifiers, and the alias then changes
      // nothing (a counterexample: seed 1649613425, 13 calls)
      const accepted = new Set(
        history.flatMap((c, i) => {
          const o = outcomes[i]!;
          return o.status === 'accepted' ? [`${c.tenant}/${o.messageId}`] : [];
        }),
      );
      const stored = async (h: Harness) =>
        (await Promise.all(TENANTS.map(async (t) => (await h.ports.store.readAll(t, { limit: 100_000 })).events.map((e) => `${t}/${e.messageId}`)))).flat();
      for (const id of await stored(together.h)) expect(accepted.has(id), id).toBe(true);
    },
    TIMEOUT,
  );

  if (store === 'sqlite')
    test('the property above did group commits (otherwise it proved nothing about grouping)', () => {
      expect(grouped).toBeGreaterThan(0);
    });
});
