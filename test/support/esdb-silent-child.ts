import { createEventStoreDbClient, disposeWithin } from '../../src/adapters/eventstoredb/eventstoredb.client.js';
import { EventStoreDbEventStore } from '../../src/adapters/eventstoredb/eventstoredb.event-store.js';
import type { StoreUnavailable } from '../../src/application/ports/store-unavailable.js';
import { registered } from './builders.js';

// Run in a child process by test/integration/eventstoredb.unavailable.test.ts: one of each store
// call on an EventStoreDB that accepts the connection and never answers (ESDB_CONNECTION_STRING),
// then disposeWithin. Prints what each call ended with; the process must then exit by itself
// (nothing of the client left holding it: no call waiting, no timer, no socket that is ref'd).

const client = createEventStoreDbClient(process.env.ESDB_CONNECTION_STRING!);
const store = new EventStoreDbEventStore(client);
const calls: (() => Promise<unknown>)[] = [
  () => store.commit({ tenant: 't', streams: [registered('t', 'c-1')], claims: [] }),
  () => store.readStream('t', 'c-1'),
  () => store.readClaims('t', ['k']),
  () => store.readAll('t', { limit: 10 }),
  () => store.getIdempotency('t', 'key', Date.now()),
  () => store.tombstoneCustomers('t', ['c-1']),
];
const ended = await Promise.all(
  calls.map((call) =>
    call().then(
      () => 'resolved',
      (e: unknown) => `${(e as StoreUnavailable).name} (${(e as StoreUnavailable).reason})`,
    ),
  ),
);
await disposeWithin(client);
console.log(JSON.stringify(ended));
