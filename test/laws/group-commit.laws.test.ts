import { test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { makeHarness, type Harness, type StoreKind } from '../support/harness.js';
import { arbHistory, OPEN_RULES, TENANTS } from './arbitraries.js';
import { describeOnStores, expectGroupedLikeAlone, ingestAll, ingestTogether, RUNS, TIMEOUT } from './support.js';

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
      await expectGroupedLikeAlone({ together: together.h, outcomes, oracle: one.h, alone }, history, TENANTS);
    },
    TIMEOUT,
  );

  if (store === 'sqlite')
    test('the property above did group commits (otherwise it proved nothing about grouping)', () => {
      expect(grouped).toBeGreaterThan(0);
    });
});
