import { EventStoreDBClient } from '@eventstore/db-client';
import { dropConnection } from './eventstoredb.deadline.js';

// The adapter is configured by an esdb:// connection string alone (tls, credentials and cluster
// discovery are the connection string's business, as in EventStoreDB's own clients).

export const createEventStoreDbClient = (connectionString: string): EventStoreDBClient => {
  if (!/^esdb(\+discover)?:\/\//.test(connectionString)) {
    throw new Error(`EventStoreDB connection string must start with esdb:// or esdb+discover://, got ${connectionString.split('?')[0]}`);
  }
  return EventStoreDBClient.connectionString(connectionString);
};

/**
 * dispose() cancels the client's reads but can wait on calls the server never ends, and leaves
 * the connection open; shutdown must not wait, and nothing of the client may hold the process.
 */
export const disposeWithin = async (client: EventStoreDBClient, ms = 2_000): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.dispose(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  await dropConnection(client);
};
