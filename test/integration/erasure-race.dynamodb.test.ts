import { randomUUID } from 'node:crypto';
import { test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { buildCluster, checkRace, countConflicts, runOp, type RaceOp, type RaceTarget, arbRaceOps } from '../support/erasure-race.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { dynamoDump } from '../support/store-dump.js';

// The erasure race (test/laws/erasure-race.laws.test.ts) with the event store on DynamoDB Local
// and real concurrency: an absorbed member of a four-customer cluster is erased twice while 8
// unmerges and 10 re-merges of the same cluster run, all at once, each after a small generated
// delay. Every run must leave the requested id's whole cluster erased as it stood when the
// tombstone committed, one erasure id for both requests, and nothing an unmerge restored carrying
// erased data; the conflict counter shows the commits really raced.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `events-erase-race-${randomUUID()}`;
const RUNS = Number(process.env.DYNAMO_LAW_RUNS ?? 12);
beforeAll(() => ensureTables(client, { events: tableName }));
afterAll(() => client.destroy());

/** The core with its event store on DynamoDB Local (everything else in memory, projecting inline). */
const onDynamoDb = (): { h: Harness; target: RaceTarget } => {
  const base = makeHarness({}, { store: 'memory' });
  const store = new DynamoDbEventStore(client, { tableName, clock: base.clock });
  const ports = { ...base.ports, store: store as unknown as Harness['ports']['store'] };
  const core = createCore(ports, { inlineProjection: true, sourceOf: () => base.web });
  const dump = async () => {
    const p = base.ports;
    const local = JSON.stringify([p.readModels, p.keys, p.quarantine, p.snapshots, p.audit, p.ledger].map((s) => s.dump())).toLowerCase();
    return `${local}\n${(await dynamoDump(client, tableName)).text}`;
  };
  return { h: { ...base, core, ports }, target: { core, ports, source: base.web, dump } };
};

describe('erasure racing merges and unmerges on DynamoDB Local (real concurrency)', () => {
  let conflicts = 0;
  let receipts = 0;

  test.prop([arbRaceOps], { numRuns: RUNS })(
    'both erasures answer one erasure of the whole cluster as it stood at the tombstone; nothing restored keeps erased data',
    async ({ absorbed, unmerges, merges, delays }) => {
      const { h, target } = onDynamoDb();
      const tenant = `race-${randomUUID().slice(0, 8)}`;
      const { members, survivorId } = await buildCluster(target, tenant);
      const counter = countConflicts(h.ports.store);
      const ops: RaceOp[] = [
        { kind: 'erase', member: absorbed },
        ...unmerges.map((member) => ({ kind: 'unmerge' as const, member })),
        ...merges.map((member) => ({ kind: 'merge' as const, member })),
        { kind: 'erase', member: absorbed },
      ];
      const outcomes = await Promise.all(
        ops.map(async (op, i) => {
          await new Promise((r) => setTimeout(r, delays[i % delays.length]));
          return runOp(target, tenant, members, survivorId, op);
        }),
      );
      conflicts += counter.conflicts();
      const answered = await checkRace(target, tenant, members, outcomes);
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
