/**
 * EventStoreDB as the event log (the stores beside it come from another family, e.g. sqliteStores).
 *
 * @module customer360-core/eventstoredb
 */

export { createEventStoreDbClient, disposeWithin } from '../adapters/eventstoredb/eventstoredb.client.js';
export { EventStoreDbEventStore } from '../adapters/eventstoredb/eventstoredb.event-store.js';
