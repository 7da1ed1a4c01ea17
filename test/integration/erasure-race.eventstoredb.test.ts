import { randomUUID } from 'node:crypto';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createEventStoreDbClient, disposeWithin } from '../../src/adapters/eventstoredb/eventstoredb.client.js';
import { EventStoreDbEventStore } from '../../src/adapters/eventstoredb/eventstoredb.event-store.js';
import { createCore } from '../../src/application/core.js';
import { buildCluster, checkRace, countConflicts, runOp, type RaceOp, type RaceTarget, arbRaceOps } from '../support/erasure-race.js';
import { startStandIn, type StandIn } from '../support/esdb-standin/server.js';
import { makeHarness, type Harness } from '../support/harness.js';

// The erasure race (test/laws/erasure-race.laws.test.ts) with the event store on the EventStoreDB
// stand-in, through @eventstore/db-client, with real concurrency: as on DynamoDB Local
// (test/integration/erasure-race.dynamodb.test.ts), an absorbed member of a four-customer cluster
// is erased twice while 8 unmerges and 10 re-merges of the same cluster run, all at once, each
// after a small generated delay. Each op runs on its own core and its own adapter instance (as
// separate processes would), so the adapter's in-process ordering of commits on a common stream
// does not serialize them: they meet only at the server's expected revisions and commit records.
// Every run must leave the requested id's whole cluster erased as it stood when the tombstone
// committed, one erasure id for both requests, and nothing an unmerge restored carrying erased
// data; the conflict counter shows the commits really raced.

const RUNS = Number(process.env.ESDB_LAW_RUNS ?? 12);

let standIn: StandIn;
let client: EventStoreDBClient;
beforeAll(async () => {
  standIn = await startStandIn();
  client = createEventStoreDbClient(standIn.connectionString);
});
afterAll(async () => {
  await disposeWithin(client);
  await standIn.stop();
});

/** Everything the stand-in's log holds (every record of every stream, tombstoned or not), as text. */
const standInDump = (): string => {
  const text = new TextDecoder();
  return JSON.stringify(
    standIn.log.all.map((r) => ({
      stream: r.stream,
      metadata: Object.fromEntries(r.metadata),
      data: text.decode(r.data),
      custom: text.decode(r.custom),
    })),
  ).toLowerCase();
};

type Deployment = { readonly target: RaceTarget; readonly node: () => RaceTarget; readonly conflicts: () => number };

/**
 * The core with its event store on the stand-in (everything else in memory, projecting inline),
 * and more cores sharing those side stores, each with its own adapter on the same server: the
 * nodes of one deployment.
 */
const onEventStoreDb = (): Deployment => {
  const base = makeHarness({}, { store: 'memory' });
  const dump = async () => {
    const p = base.ports;
    const local = JSON.stringify([p.readModels, p.keys, p.quarantine, p.snapshots, p.audit, p.ledger].map((s) => s.dump())).toLowerCase();
    return `${local}\n${standInDump()}`;
  };
  const counters: { conflicts: () => number }[] = [];
  const node = (): RaceTarget => {
    const store = new EventStoreDbEventStore(client, { clock: base.clock });
    counters.push(countConflicts(store));
    const ports = { ...base.ports, store: store as unknown as Harness['ports']['store'] };
    const core = createCore(ports, { inlineProjection: true, sourceOf: () => base.web });
    return { core, ports, source: base.web, dump };
  };
  const first = node();
  return { target: first, node, conflicts: () => counters.reduce((n, c) => n + c.conflicts(), 0) };
};

describe('erasure racing merges and unmerges on the EventStoreDB stand-in (real concurrency)', () => {
  let conflicts = 0;
  let receipts = 0;

  test.prop([arbRaceOps], { numRuns: RUNS })(
    'both erasures answer one erasure of the whole cluster as it stood at the tombstone; nothing restored keeps erased data',
    async ({ absorbed, unmerges, merges, delays }) => {
      const d = onEventStoreDb();
      const tenant = `race-${randomUUID().slice(0, 8)}`;
      const { members, survivorId } = await buildCluster(d.target, tenant);
      // the dump below reads the server's log: this run's streams are in it
      expect(standInDump()).toContain(`c360-${tenant}-customer-${members[0]!.id}`);
      const before = d.conflicts();
      const ops: RaceOp[] = [
        { kind: 'erase', member: absorbed },
        ...unmerges.map((member) => ({ kind: 'unmerge' as const, member })),
        ...merges.map((member) => ({ kind: 'merge' as const, member })),
        { kind: 'erase', member: absorbed },
      ];
      const outcomes = await Promise.all(
        ops.map(async (op, i) => {
          const node = d.node();
          await new Promise((r) => setTimeout(r, delays[i % delays.length]));
          return runOp(node, tenant, members, survivorId, op);
        }),
      );
      conflicts += d.conflicts() - before;
      const answered = await checkRace(d.target, tenant, members, outcomes);
      receipts += answered.length;
      // both requests named the same absorbed id: when both answered, they answered one erasure
      const mine = outcomes.filter((o) => o.op.kind === 'erase' && o.op.member === absorbed && o.ok);
      if (mine.length === 2) expect(new Set(answered.filter((r) => r.customers.includes(members[absorbed]!.id)).map((r) => r.erasureId)).size).toBe(1);
    },
    300_000,
  );

  test('the runs above really raced: commits lost to other commits, and erasures answered', () => {
    if (process.env.DEBUG_RACE) console.log({ conflicts, receipts });
    expect(conflicts).toBeGreaterThan(0);
    expect(receipts).toBeGreaterThan(RUNS);
  });
});
