import { type EventStoreDBClient, type StreamingRead, UnavailableError } from '@eventstore/db-client';
import { StoreUnavailable } from '../../application/ports/store-unavailable.js';

/*
 * Every store call of the adapter has ONE deadline (the connection string's `defaultDeadline`,
 * 10 s by default), shared by every request it makes to the server and by its wait for the
 * commit order: past it the call fails with StoreUnavailable ('deadline exceeded').
 *
 * The client alone does not bound a call on a server that accepts the TCP connection and never
 * answers (measured with @eventstore/db-client 6.2.1 and @grpc/grpc-js 1.14.7): a read is opened
 * with no deadline at all (`deadline: Infinity`, even when the call gives one), and an append first
 * asks the server for its features with no deadline, once per connection, every append waiting on
 * that answer; only a tombstone gives up, at its deadline. gRPC itself has no bound on the HTTP/2
 * handshake either. So the adapter bounds each request itself and, at the deadline, cancels what it
 * started:
 * - a read is cancelled (its gRPC call ends);
 * - an append is not sent until the features are known, so one whose deadline passed while the
 *   question was unanswered is never sent later;
 * - a connection that is up (the handshake was answered) but did not answer in time is dropped
 *   through the client's own path for a failed connection (handleError, as for UNAVAILABLE): the
 *   channel is closed, the requests waiting on it fail as UNAVAILABLE, and the client connects
 *   again, and asks for the features again, on its next call. A connection still waiting for the
 *   handshake is kept: gRPC cannot close that attempt's socket, so a new connection per deadline
 *   would leave one more open socket each time. It stays one attempt, which succeeds if the server
 *   wakes up, fails (and the client reconnects) if the server closes it, and is closed by dispose.
 */

/** The instant a store call must have settled by, and its length (for the message). */
export type Deadline = { readonly until: number; readonly ms: number };

export const deadlineIn = (ms: number): Deadline => ({ until: Date.now() + ms, ms });

/** StoreUnavailable for a call the server did not answer in time. */
const noAnswer = (d: Deadline): StoreUnavailable =>
  new StoreUnavailable('EventStoreDB', 'deadline exceeded', { cause: new Error(`no answer from EventStoreDB within ${d.ms} ms`) });

// The client's own members used here: declared protected in its typings (for subclasses), reached
// from outside because Client.connectionString() builds the base class.
type Channel = { close(): void; getTarget(): string; getConnectivityState(tryToConnect: boolean): number };
type ClientInternals = {
  getChannel(): Promise<Channel>;
  createDeadline(ms?: number): Date;
  handleError(grpcClient: { getChannel(): Channel }, error: Error): Promise<void>;
  readonly capabilities: Promise<unknown>;
};
const internals = (client: EventStoreDBClient): ClientInternals => client as unknown as ClientInternals;
/** grpc-js ConnectivityState.CONNECTING: the handshake has not been answered */
const CONNECTING = 1;

/** The client's `defaultDeadline` (its connection string's), in ms. */
export const clientDeadlineMs = (client: EventStoreDBClient): number => {
  // createDeadline adds it to its own Date.now(): read within one clock tick, or the length is one
  // millisecond off (a loaded machine: "within 501 ms" for a 500 ms deadline)
  let before = 0;
  let until = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    before = Date.now();
    until = internals(client).createDeadline().getTime();
    if (Date.now() === before) break;
  }
  return Math.max(1, until - before);
};

/** the channel each client last sent a request of the adapter on */
const lastChannel = new WeakMap<EventStoreDBClient, Promise<Channel | undefined>>();

/** The channel a request is about to use (the client keeps one at a time, so it is the same one). */
const channelOf = (client: EventStoreDBClient): Promise<Channel | undefined> => {
  const channel = internals(client)
    .getChannel()
    .catch(() => undefined);
  lastChannel.set(client, channel);
  return channel;
};

/** The client forgets the channel if it is still its current one (and what it cached on it); closed in any case. */
const drop = async (client: EventStoreDBClient, channel: Channel): Promise<void> => {
  const failed = new UnavailableError({
    code: 14,
    details: 'no answer within the deadline',
    message: '14 UNAVAILABLE: no answer within the deadline',
  } as never);
  await internals(client)
    .handleError({ getChannel: () => channel }, failed)
    .catch(() => undefined);
  channel.close();
};

/** At a deadline: drops the connection the request used, unless it is still waiting for its handshake (see above). */
const expired = async (client: EventStoreDBClient, channel: Promise<Channel | undefined>): Promise<void> => {
  const c = await channel;
  if (c && c.getConnectivityState(false) !== CONNECTING) await drop(client, c);
};

/**
 * Closes the connection the adapter last used (client.dispose() leaves it open), failing every
 * request still waiting on it (UNAVAILABLE). A client that never sent a request through the
 * adapter is left alone (asking for its channel would open one, or discover a cluster).
 */
export const dropConnection = async (client: EventStoreDBClient): Promise<void> => {
  const channel = await lastChannel.get(client);
  if (channel) await drop(client, channel);
};

/**
 * `start()`'s result, or StoreUnavailable at the deadline, once `expire()` has cancelled what was
 * started (so the next call finds the client without it). A call whose deadline has passed
 * already is not started at all.
 */
const settleBy = <T>(d: Deadline, start: () => Promise<T>, expire?: () => Promise<void>): Promise<T> => {
  const left = d.until - Date.now();
  if (left <= 0) return Promise.reject(noAnswer(d));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true; // what the cancelled call ends with (a premature close) is not its answer
      void (expire?.() ?? Promise.resolve()).catch(() => undefined).then(() => reject(noAnswer(d)));
    }, left);
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    Promise.resolve()
      .then(start)
      .then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
  });
};

/**
 * One request to the server (an append, a tombstone), sent once the server's features are known
 * and given what is left of the deadline as its own gRPC deadline.
 */
export const request = <T>(client: EventStoreDBClient, d: Deadline, send: (ms: number) => Promise<T>): Promise<T> => {
  const channel = channelOf(client);
  return settleBy(
    d,
    async () => {
      await internals(client).capabilities;
      const left = d.until - Date.now();
      if (left <= 0) throw noAnswer(d); // the answer came too late: the request is not sent
      return send(left);
    },
    () => expired(client, channel),
  );
};

/** A read drained to its end, or cancelled at the deadline (a read left early can hang client.dispose()). */
export const drain = <E>(client: EventStoreDBClient, d: Deadline, open: () => StreamingRead<E>): Promise<E[]> => {
  const channel = channelOf(client);
  let read: StreamingRead<E> | undefined;
  return settleBy(
    d,
    async () => {
      read = open();
      const out: E[] = [];
      for await (const e of read) out.push(e as E);
      return out;
    },
    () => {
      void read?.cancel().catch(() => undefined);
      read?.destroy();
      return expired(client, channel);
    },
  );
};
