import { fc, test } from '@fast-check/vitest';
import { afterAll, expect, it } from 'vitest';
import type { EventStore } from '../../src/application/ports/event-store.port.js';
import { buildCluster, checkRace, countConflicts, runOp, type RaceOp, type RaceTarget } from '../support/erasure-race.js';
import { makeHarness } from '../support/harness.js';
import { memoryDump } from '../support/store-dump.js';
import { describeOnStores, RUNS, runsOn, TIMEOUT } from './support.js';

// docs/architecture.md "GDPR": an erasure that answers has erased the requested id's cluster as
// it stands when its tombstone commits, whatever races with it. A four-customer cluster built by
// manual merges; an absorbed member is erased twice while unmerges, re-merges and other erasures
// of the same cluster run. fast-check's scheduler decides the order in which every event-store
// call of every op completes, so the reads an erasure resolves its cluster from interleave with
// the other ops' commits (see test/integration/erasure-race.dynamodb.test.ts for real concurrency).

/** Each run builds a cluster and races a dozen ops through it: a tenth of LAW_RUNS. */
const RACE_RUNS = Math.max(10, Math.round(RUNS / 10));

const arbRace = fc.record({
  /** which absorbed member (1..3 in creation order; 0 is the survivor) is erased twice */
  absorbed: fc.integer({ min: 1, max: 3 }),
  others: fc.array(
    fc.record({ kind: fc.constantFrom<RaceOp['kind']>('unmerge', 'unmerge', 'merge', 'merge', 'erase'), member: fc.integer({ min: 0, max: 3 }) }),
    { minLength: 2, maxLength: 12 },
  ),
});

/** Every event-store call waits for the scheduler before it runs, until the returned function is called. */
const scheduled = (store: EventStore, s: fc.Scheduler): (() => void) => {
  const names = ['commit', 'readStream', 'readClaims', 'getIdempotency'] as const;
  const own = store as unknown as Record<string, unknown>;
  const before = names.map((name) => [name, Object.hasOwn(own, name) ? own[name] : undefined] as const);
  for (const name of names) {
    const real = (store[name] as (...a: unknown[]) => Promise<unknown>).bind(store);
    own[name] = async (...args: unknown[]) => {
      await s.schedule(Promise.resolve(name));
      return real(...args);
    };
  }
  return () => {
    for (const [name, f] of before) {
      if (f === undefined) delete own[name];
      else own[name] = f;
    }
  };
};

describeOnStores('erasure racing merges and unmerges', (store) => {
  let conflicts = 0;
  let runs = 0;
  let racedAnUnmerge = 0;
  afterAll(() => {
    // the runs really raced: some commits lost to another op's commit (when the property ran)
    if (runs > 0) expect(conflicts).toBeGreaterThan(0);
    if (process.env.DEBUG_RACE) console.log(store, { conflicts, racedAnUnmerge });
  });

  it('an unmerge after the erasure restores nothing: every merge of the erased cluster is refused, no key comes back', async () => {
    const h = makeHarness({}, { store });
    const target: RaceTarget = { core: h.core, ports: h.ports, source: h.web, dump: async () => memoryDump(h) };
    const { members, survivorId } = await buildCluster(target, 'after');
    const survivor = await h.core.repo.loadSurvivor('after', survivorId);
    const receipt = await h.core.gdpr.erase('after', members[2]!.id, { actor: 'dpo' });
    expect([...receipt.customers].sort()).toEqual(members.map((m) => m.id).sort());
    expect(survivor.merges.size).toBe(3);
    for (const mergeId of survivor.merges.keys())
      await expect(h.core.identity.unmerge('after', survivorId, mergeId, { actor: 'late' })).rejects.toMatchObject({ code: 'CUSTOMER_ERASED' });
    for (const m of members) {
      expect(await h.ports.keys.get('after', m.id)).toBeNull();
      expect(await h.ports.readModels.get('after', m.id)).toBeUndefined();
    }
    await checkRace(target, 'after', members, [{ op: { kind: 'erase', member: 2 }, ok: true, receipt }]);
  });

  test.prop([arbRace, fc.scheduler()], { numRuns: runsOn(store, RACE_RUNS) })(
    'an erasure that answers erased the whole cluster of the requested id as it stood at its tombstone; erasures of one cluster share one id',
    async ({ absorbed, others }, s) => {
      const h = makeHarness({}, { store });
      const tenant = 'race';
      const target: RaceTarget = { core: h.core, ports: h.ports, source: h.web, dump: async () => memoryDump(h) };
      const { members, survivorId } = await buildCluster(target, tenant);
      const counter = countConflicts(h.ports.store);
      const unschedule = scheduled(h.ports.store, s);
      const ops: RaceOp[] = [{ kind: 'erase', member: absorbed }, ...others, { kind: 'erase', member: absorbed }];
      const outcomes = await s.waitFor(Promise.all(ops.map((op) => runOp(target, tenant, members, survivorId, op))));
      unschedule();
      conflicts += counter.conflicts();
      runs++;
      const receipts = await checkRace(target, tenant, members, outcomes);
      if (receipts.length > 0 && outcomes.some((o) => o.op.kind === 'unmerge' && o.ok)) racedAnUnmerge++;
    },
    TIMEOUT,
  );
});
