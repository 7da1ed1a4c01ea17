// EventStoreDB's client and event store, loaded by the container only when C360_STORE=eventstoredb.
export { createEventStoreDbClient, disposeWithin } from '../../adapters/eventstoredb/eventstoredb.client.js';
export { EventStoreDbEventStore } from '../../adapters/eventstoredb/eventstoredb.event-store.js';
