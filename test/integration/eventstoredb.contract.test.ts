import { randomUUID } from 'node:crypto';
import { StreamDeletedError, type EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStoreDbClient, disposeWithin } from '../../src/adapters/eventstoredb/eventstoredb.client.js';
import { CommitRecords } from '../../src/adapters/eventstoredb/eventstoredb.commit-records.js';
import { deadlineIn } from '../../src/adapters/eventstoredb/eventstoredb.deadline.js';
import { EventStoreDbEventStore } from '../../src/adapters/eventstoredb/eventstoredb.event-store.js';
import { deterministicUuid, streamNames, toEventData } from '../../src/adapters/eventstoredb/eventstoredb.streams.js';
import { eventStoreContract } from '../contract/event-store.contract.js';
import { append, registered } from '../support/builders.js';
import { startStandIn, type StandIn } from '../support/esdb-standin/server.js';

// The shared EventStore contract, unchanged, on the gRPC stand-in and (when configured) on a real
// EventStoreDB; the contract gives every test its own tenant, so a shared server needs no cleanup.

const real = process.env.ESDB_CONNECTION_STRING;

describe('on the EventStoreDB stand-in', () => {
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

  eventStoreContract('EventStoreDB stand-in', () => new EventStoreDbEventStore(client), { redactsPii: false, alsoRecords: false });

  describe('the commit protocol: what the contract cannot see', () => {
    it('events of a commit whose writer crashed before completing stay hidden, and the next writer aborts it', async () => {
      const tenant = `t-${randomUUID()}`;
      const a = randomUUID();
      const names = streamNames(tenant);
      // a writer that got as far as its record and one append, then died
      const crashed = randomUUID();
      await new CommitRecords(client, 0).start(tenant, crashed, [{ stream: names.customer(a), after: 'no_stream', count: 1 }], deadlineIn(10_000));
      const orphan = registered(tenant, a).events[0]!;
      await client.appendToStream(
        names.customer(a),
        toEventData({ id: deterministicUuid(crashed), type: orphan.type, data: { ...orphan }, meta: { commit: crashed } }),
      );

      const store = new EventStoreDbEventStore(client, { pendingTimeoutMs: 50 });
      await expect(store.readStream(tenant, a)).resolves.toEqual([]);
      await expect(store.readAll(tenant, { limit: 10 })).resolves.toEqual({ events: [] });
      const next = registered(tenant, a);
      await expect(store.commit({ tenant, streams: [next], claims: [] })).resolves.toEqual({ status: 'committed', versions: { [a]: 1 } });
      expect((await store.readStream(tenant, a)).map((e) => e.eventId)).toEqual([next.events[0]!.eventId]);
      await expect(new CommitRecords(client, 0).status(tenant, crashed, deadlineIn(10_000))).resolves.toBe('aborted');
    });

    it('a commit too large for one server append spans appends and is still all-or-nothing', async () => {
      const tenant = `t-${randomUUID()}`;
      const a = randomUUID();
      const events = append(tenant, a, 0, 12).events.map((e) => ({ ...e, pii: 'p'.repeat(300_000) }));
      const store = new EventStoreDbEventStore(client);
      await expect(store.commit({ tenant, streams: [{ streamId: a, expectedVersion: 0, events }], claims: [] })).resolves.toMatchObject({
        status: 'committed',
      });
      expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    });

    it('erasure tombstones customer streams: reads find nothing and later commits fail, claims stay releasable', async () => {
      const tenant = `t-${randomUUID()}`;
      const a = randomUUID();
      const store = new EventStoreDbEventStore(client);
      await store.commit({ tenant, streams: [registered(tenant, a)], claims: [{ op: 'claim', key: 'k-erased', owner: a }] });
      await store.tombstoneCustomers(tenant, [a]);
      await store.tombstoneCustomers(tenant, [a]);
      await expect(store.readStream(tenant, a)).resolves.toEqual([]);
      await expect(store.commit({ tenant, streams: [registered(tenant, a)], claims: [] })).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(store.commit({ tenant, streams: [], claims: [{ op: 'release', key: 'k-erased', expectedOwner: a }] })).resolves.toMatchObject({
        status: 'committed',
      });
      expect((await store.readClaims(tenant, ['k-erased'])).size).toBe(0);
    });

    it('refuses a connection string that is not esdb://', () => {
      expect(() => createEventStoreDbClient('http://127.0.0.1:2113')).toThrow(/esdb:\/\//);
    });
  });
});

// printed, so a skipped run says why in the test output
if (!real)
  console.log(
    'SKIPPED: the real-EventStoreDB run of the contract (every test the stand-in runs above) needs ESDB_CONNECTION_STRING=esdb://...; no EventStoreDB server can be installed from npm here, so the same contract runs on the stand-in above',
  );

describe.skipIf(!real)(`real EventStoreDB${real ? '' : ' (skipped: ESDB_CONNECTION_STRING not set)'}`, () => {
  let client: EventStoreDBClient;
  beforeAll(() => {
    client = createEventStoreDbClient(real!);
  });
  afterAll(() => disposeWithin(client));

  eventStoreContract('real EventStoreDB', () => new EventStoreDbEventStore(client), { redactsPii: false, alsoRecords: false });
});
