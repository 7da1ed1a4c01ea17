import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttp2Server } from 'node:http2';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeadlineExceededError, type EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailable } from '../../src/application/ports/store-unavailable.js';
import { createEventStoreDbClient, disposeWithin } from '../../src/adapters/eventstoredb/eventstoredb.client.js';
import { EventStoreDbEventStore } from '../../src/adapters/eventstoredb/eventstoredb.event-store.js';
import { unavailableOr } from '../../src/adapters/eventstoredb/eventstoredb.unavailable.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve, type RunningServer } from '../../src/infrastructure/server.js';
import { registered } from '../support/builders.js';
import { startStandIn, type StandIn } from '../support/esdb-standin/server.js';

// EventStoreDB down (nothing listens on its port): the adapter says so as StoreUnavailable, and the
// API answers 503 STORE_UNAVAILABLE with Retry-After, as /health answers 503; never 500
// INTERNAL_ERROR, never a client error. The client gives up on a refused connection at once.
// EventStoreDB silent (it accepts the TCP connection and never answers, below): the same, at the
// call's deadline (the connection string's defaultDeadline, short here), and nothing is left
// waiting, nor holding the process, once the client is disposed.

let closedPort: number;
let connectionString: string;
beforeAll(async () => {
  // a loopback port that was free a moment ago and that nothing listens on now
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  connectionString = `esdb://127.0.0.1:${closedPort}?tls=false`;
});

describe('the EventStoreDB adapter with its server unreachable', () => {
  let client: EventStoreDBClient;
  beforeAll(() => {
    client = createEventStoreDbClient(connectionString);
  });
  afterAll(async () => {
    await disposeWithin(client);
  });

  it('rejects every store call with StoreUnavailable naming EventStoreDB, the client error kept as its cause', async () => {
    const store = new EventStoreDbEventStore(client);
    const calls: [string, () => Promise<unknown>][] = [
      ['commit', () => store.commit({ tenant: 't', streams: [registered('t', 'c-1')], claims: [] })],
      ['readStream', () => store.readStream('t', 'c-1')],
      ['readClaims', () => store.readClaims('t', ['k'])],
      ['readAll', () => store.readAll('t', { limit: 10 })],
      ['getIdempotency', () => store.getIdempotency('t', 'key', Date.now())],
      ['tombstoneCustomers', () => store.tombstoneCustomers('t', ['c-1'])],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(StoreUnavailable);
      expect((error as StoreUnavailable).message, name).toBe('EventStoreDB cannot be reached right now (unavailable)');
      expect((error as StoreUnavailable).cause, name).toBeDefined();
    }
  });

  it("maps the client's raw gRPC error (an append is not converted by the client) and its deadline error; other errors stay as they are", async () => {
    const raw = await client.appendToStream('c360-t-probe', jsonEvent({ type: 'Probe', data: {} })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(raw).not.toBeInstanceOf(StoreUnavailable);
    expect(unavailableOr(raw)).toBeInstanceOf(StoreUnavailable);
    const deadline = new DeadlineExceededError({ code: 4, details: 'Deadline exceeded', message: '4 DEADLINE_EXCEEDED: Deadline exceeded' } as never);
    expect((unavailableOr(deadline) as StoreUnavailable).reason).toBe('deadline exceeded');
    // what grpc-js throws for a request that raced the adapter closing a connection that did not answer
    expect((unavailableOr(new Error('Channel has been shut down')) as StoreUnavailable).reason).toBe('unavailable');
    const other = new Error('something else');
    expect(unavailableOr(other)).toBe(other);
  });
});

type EsdbServer = { readonly running: RunningServer; close(): Promise<void> };

/** npm start's server on an EventStoreDB at `connectionString`, in a data dir of its own (removed by close) */
const serveOnEsdb = async (connectionString: string, o: { prefix: string; writeKey: string; adminToken: string }): Promise<EsdbServer> => {
  const dataDir = await mkdtemp(join(tmpdir(), o.prefix));
  const config = loadConfig({
    C360_STORE: 'eventstoredb',
    ESDB_CONNECTION_STRING: connectionString,
    C360_DATA_DIR: dataDir,
    PORT: '0',
    C360_LAKE: 'off',
    C360_WRITE_KEY: o.writeKey,
    C360_ADMIN_TOKEN: o.adminToken,
  });
  const running = await serve(config, () => {});
  return {
    running,
    close: async () => {
      await running.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
};

describe('the server (npm start) on an unreachable EventStoreDB', () => {
  const WRITE_KEY = 'wk-esdb-down-0123456789';
  const ADMIN_TOKEN = 'adm-esdb-down-0123456789abcdef';
  let server: EsdbServer;
  let running: RunningServer;
  beforeAll(async () => {
    server = await serveOnEsdb(connectionString, { prefix: 'c360-esdb-down-', writeKey: WRITE_KEY, adminToken: ADMIN_TOKEN });
    running = server.running;
  });
  afterAll(async () => {
    await server?.close();
  });

  const expectRetryLater = async (res: Response) => {
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toMatch(/^EventStoreDB cannot be reached right now \(unavailable\); nothing is wrong with the request: send it again after 5 s$/);
  };

  it('answers POST /v1/track 503 STORE_UNAVAILABLE with Retry-After', async () => {
    const res = await fetch(`${running.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u-esdb-down', event: 'Tried', messageId: 'm-esdb-down-1' }),
    });
    await expectRetryLater(res);
  });

  it('answers POST /v1/batch 200 listing each call as STORE_UNAVAILABLE, each kept for a replay', async () => {
    const res = await fetch(`${running.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [{ type: 'track', userId: 'u-esdb-down', event: 'Tried', messageId: 'm-esdb-down-2' }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { invalid: { index: number; code: string }[]; quarantineId?: string };
    expect(body.invalid).toEqual([expect.objectContaining({ index: 0, code: 'STORE_UNAVAILABLE' })]);
  });

  it('answers a lookup the same, and /health 503 as before', async () => {
    await expectRetryLater(await fetch(`${running.url}/v1/customers?identifier=user_id:u-esdb-down`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    const health = await fetch(`${running.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { details: { reachable: string } }).details.reachable).toBe('unreachable (StoreUnavailable)');
  });
});

// --- EventStoreDB accepts the connection and never answers ---

const DEADLINE_MS = 500;
/** generous: the calls must settle at their deadline, this only tells a late call from a hung one */
const MARGIN_MS = 2_500;
const HUNG = 'still pending after the deadline and the margin' as const;

/** what the promise settled to, or HUNG if it is still pending after the deadline and the margin */
const inTime = async <T>(promise: Promise<T>, ms = DEADLINE_MS + MARGIN_MS): Promise<T | typeof HUNG> => {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<typeof HUNG>((resolve) => (timer = setTimeout(() => resolve(HUNG), ms)));
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
};

/** the error a call failed with (undefined if it succeeded), or HUNG */
const outcome = (call: Promise<unknown>, ms?: number): Promise<unknown> =>
  inTime(
    call.then(
      () => undefined,
      (e: unknown) => e,
    ),
    ms,
  );

/**
 * A loopback TCP server that accepts every connection and says nothing (or what `greet` writes);
 * `wake(port)` makes it a plain proxy to that port, for the connections it holds (what they sent
 * meanwhile included) and the next ones: a server that was stalled and resumes.
 */
type Silent = { readonly connectionString: string; accepted: number; wake(port: number): void; close(): Promise<void> };
const silentServer = async (greet?: (socket: Socket) => void): Promise<Silent> => {
  const held = new Set<Socket>();
  let target: number | undefined;
  const forward = (socket: Socket, port: number) => {
    const upstream = connect(port, '127.0.0.1');
    held.add(upstream);
    upstream.on('error', () => socket.destroy());
    upstream.on('close', () => held.delete(upstream));
    socket.pipe(upstream).pipe(socket);
  };
  const server: Server = createServer((socket) => {
    silent.accepted++;
    held.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => held.delete(socket));
    if (target !== undefined) forward(socket, target);
    else greet?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const silent: Silent = {
    connectionString: `esdb://127.0.0.1:${port}?tls=false&defaultDeadline=${DEADLINE_MS}`,
    accepted: 0,
    wake: (to) => {
      target = to;
      for (const socket of [...held]) forward(socket, to);
    },
    close: async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return silent;
};

const everyCall = (store: EventStoreDbEventStore): [string, () => Promise<unknown>][] => [
  ['commit', () => store.commit({ tenant: 't', streams: [registered('t', 'c-1')], claims: [] })],
  ['commit with a claim', () => store.commit({ tenant: 't', streams: [registered('t', 'c-2')], claims: [{ op: 'claim', key: 'k-2', owner: 'c-2' }] })],
  ['readStream', () => store.readStream('t', 'c-1')],
  ['readClaims', () => store.readClaims('t', ['k'])],
  ['readAll', () => store.readAll('t', { limit: 10 })],
  ['getIdempotency', () => store.getIdempotency('t', 'key', Date.now())],
  ['tombstoneCustomers', () => store.tombstoneCustomers('t', ['c-1'])],
];

const expectDeadlineExceeded = (error: unknown, name: string) => {
  expect(error, name).toBeInstanceOf(StoreUnavailable);
  expect((error as StoreUnavailable).message, name).toBe('EventStoreDB cannot be reached right now (deadline exceeded)');
  expect(String(((error as StoreUnavailable).cause as Error).message), name).toBe(`no answer from EventStoreDB within ${DEADLINE_MS} ms`);
};

describe('the EventStoreDB adapter on a server that accepts the connection and never answers', () => {
  let silent: Silent;
  let client: EventStoreDBClient;
  beforeAll(async () => {
    silent = await silentServer();
    client = createEventStoreDbClient(silent.connectionString);
  });
  afterAll(async () => {
    await disposeWithin(client);
    await silent.close();
  });

  it('rejects every store call with StoreUnavailable at its deadline, one after another and all at once', async () => {
    const store = new EventStoreDbEventStore(client);
    for (const [name, call] of everyCall(store)) expectDeadlineExceeded(await outcome(call()), name);
    const together = await Promise.all(everyCall(store).map(([, call]) => outcome(call())));
    together.forEach((error, i) => expectDeadlineExceeded(error, `${everyCall(store)[i]![0]}, all at once`));
    // one connection attempt for all of them, still waiting for its handshake: a new one per call
    // that got no answer would stay open on such a server (gRPC cannot close an attempt)
    expect(silent.accepted).toBe(1);
  });

  it('takes its deadline from the deadlineMs option over the connection string', async () => {
    const error = await outcome(new EventStoreDbEventStore(client, { deadlineMs: 200 }).readStream('t', 'c-1'), 200 + MARGIN_MS);
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(((error as StoreUnavailable).cause as Error).message).toBe('no answer from EventStoreDB within 200 ms');
  });

  it('a commit queued behind another on the same customer fails at its own deadline, not one deadline per commit ahead of it', async () => {
    const store = new EventStoreDbEventStore(client);
    const queued = Array.from({ length: 4 }, () => outcome(store.commit({ tenant: 't', streams: [registered('t', 'c-q')], claims: [] })));
    (await Promise.all(queued)).forEach((error, i) => expectDeadlineExceeded(error, `commit ${i + 1} of 4`));
  });
});

describe('the EventStoreDB adapter on a server that takes the HTTP/2 connection and never answers a request', () => {
  it('rejects every store call at its deadline, and closes each connection it gives up on', async () => {
    const open = new Set<Socket>();
    const server = createHttp2Server();
    server.on('connection', (socket: Socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    server.on('stream', () => undefined); // every request is left without an answer
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createEventStoreDbClient(`esdb://127.0.0.1:${(server.address() as AddressInfo).port}?tls=false&defaultDeadline=${DEADLINE_MS}`);
    try {
      for (const [name, call] of everyCall(new EventStoreDbEventStore(client))) expectDeadlineExceeded(await outcome(call()), name);
      // a connection that answered its handshake is dropped when a call on it gets no answer, and
      // the next call opens a new one: the dropped ones are closed, not left open one per call
      expect(open.size).toBeLessThanOrEqual(2);
    } finally {
      await disposeWithin(client);
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the EventStoreDB adapter on a server that answers garbage', () => {
  it('rejects at once, as for a refused connection', async () => {
    const garbage = await silentServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'));
    const client = createEventStoreDbClient(garbage.connectionString);
    try {
      for (const [name, call] of everyCall(new EventStoreDbEventStore(client))) {
        const error = await outcome(call());
        expect(error, name).toBeInstanceOf(StoreUnavailable);
        expect((error as StoreUnavailable).reason, name).toBe('unavailable');
      }
    } finally {
      await disposeWithin(client);
      await garbage.close();
    }
  });
});

describe('the EventStoreDB adapter on a server that stalls and then resumes', () => {
  let standIn: StandIn;
  beforeAll(async () => {
    standIn = await startStandIn();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  it('fails while the server is silent, and the same client commits and reads once it answers again', async () => {
    const stalled = await silentServer();
    const client = createEventStoreDbClient(stalled.connectionString);
    try {
      const store = new EventStoreDbEventStore(client);
      const tenant = `t-stall-${Date.now()}`;
      expectDeadlineExceeded(await outcome(store.commit({ tenant, streams: [registered(tenant, 'c-1')], claims: [] })), 'commit while stalled');
      expectDeadlineExceeded(await outcome(store.readStream(tenant, 'c-1')), 'read while stalled');
      stalled.wake(Number(new URL(standIn.connectionString.replace(/^esdb/, 'http')).port));
      await expect(store.commit({ tenant, streams: [registered(tenant, 'c-1')], claims: [] })).resolves.toEqual({
        status: 'committed',
        versions: { 'c-1': 1 },
      });
      expect((await store.readStream(tenant, 'c-1')).map((e) => e.version)).toEqual([1]);
    } finally {
      await disposeWithin(client);
      await stalled.close();
    }
  });
});

describe('a process that used the adapter on a silent server', () => {
  it('ends by itself once the client is disposed, every call having failed with StoreUnavailable', async () => {
    const silent = await silentServer();
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../support/esdb-silent-child.ts', import.meta.url))], {
        env: { ...process.env, ESDB_CONNECTION_STRING: silent.connectionString },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // generous: starting node with tsx takes a few seconds on a busy machine; a hung process never exits
      const code = await outcome(
        exited.then((c) => Promise.reject(c)),
        30_000,
      );
      if (code === HUNG) child.kill();
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual(Array(6).fill('StoreUnavailable (deadline exceeded)'));
    } finally {
      await silent.close();
    }
  });
});

describe('the server (npm start) on an EventStoreDB that accepts the connection and never answers', () => {
  const WRITE_KEY = 'wk-esdb-silent-0123456789';
  const ADMIN_TOKEN = 'adm-esdb-silent-0123456789abcdef';
  let silent: Silent;
  let server: EsdbServer;
  let running: RunningServer;
  beforeAll(async () => {
    silent = await silentServer();
    server = await serveOnEsdb(silent.connectionString, { prefix: 'c360-esdb-silent-', writeKey: WRITE_KEY, adminToken: ADMIN_TOKEN });
    running = server.running;
  });
  afterAll(async () => {
    await server?.close();
    await silent.close();
  });

  /** the answer, or HUNG; a server that hangs must fail the test, not time it out */
  const answer = (path: string, init: RequestInit = {}): Promise<unknown> => outcome(fetch(`${running.url}${path}`, init).then((res) => Promise.reject(res)));

  const expectRetryLater = async (res: unknown) => {
    expect(res).not.toBe(HUNG);
    const response = res as Response;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toBe('EventStoreDB cannot be reached right now (deadline exceeded); nothing is wrong with the request: send it again after 5 s');
  };

  it('answers POST /v1/track 503 STORE_UNAVAILABLE with Retry-After at the deadline', async () => {
    await expectRetryLater(
      await answer('/v1/track', {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'u-esdb-silent', event: 'Tried', messageId: 'm-esdb-silent-1' }),
      }),
    );
  });

  it('answers POST /v1/batch 200 listing the call as STORE_UNAVAILABLE', async () => {
    const res = await answer('/v1/batch', {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [{ type: 'track', userId: 'u-esdb-silent', event: 'Tried', messageId: 'm-esdb-silent-2' }] }),
    });
    expect(res).not.toBe(HUNG);
    expect((res as Response).status).toBe(200);
    const body = (await (res as Response).json()) as { invalid: { index: number; code: string }[] };
    expect(body.invalid).toEqual([expect.objectContaining({ index: 0, code: 'STORE_UNAVAILABLE' })]);
  });

  it('answers a lookup 503 the same, and /health 503 naming StoreUnavailable', async () => {
    await expectRetryLater(await answer('/v1/customers?identifier=user_id:u-esdb-silent', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    const health = await answer('/health');
    expect(health).not.toBe(HUNG);
    expect((health as Response).status).toBe(503);
    expect(((await (health as Response).json()) as { details: { reachable: string } }).details.reachable).toBe('unreachable (StoreUnavailable)');
  });
});
