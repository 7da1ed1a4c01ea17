import { DeadlineExceededError, UnavailableError } from '@eventstore/db-client';
import { StoreUnavailable } from '../../application/ports/store-unavailable.js';

// The EventStoreDB client's ways of saying the server cannot be reached, as the core's
// StoreUnavailable (503 with Retry-After at the API). Connection refused or no server at the
// address: UnavailableError at once (reads), or the raw gRPC error with code 14 (appends, which the
// client does not convert); no answer within the deadline (`defaultDeadline` in the connection
// string, 10 s by default): DeadlineExceededError, the raw code 4, or the adapter's own
// StoreUnavailable (eventstoredb.deadline.ts). A request that raced the adapter dropping a
// connection that did not answer meets gRPC's "Channel has been shut down" (a plain Error).

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;
const CHANNEL_SHUT_DOWN = 'Channel has been shut down';

/** StoreUnavailable for an error that says the server cannot be reached; any other error as it is. */
export const unavailableOr = (error: unknown): unknown => {
  if (error instanceof StoreUnavailable) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof UnavailableError || code === GRPC_UNAVAILABLE || (error instanceof Error && error.message === CHANNEL_SHUT_DOWN))
    return new StoreUnavailable('EventStoreDB', 'unavailable', { cause: error });
  if (error instanceof DeadlineExceededError || code === GRPC_DEADLINE_EXCEEDED)
    return new StoreUnavailable('EventStoreDB', 'deadline exceeded', { cause: error });
  return error;
};

/** For a promise's catch: rethrows, as StoreUnavailable when the server cannot be reached. */
export const rethrowUnavailable = (error: unknown): never => {
  throw unavailableOr(error);
};
