import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadlineExceededError, type EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailable } from '../../src/application/ports/store-unavailable.js';
import { createEventStoreDbClient, disposeWithin } from '../../src/adapters/eventstoredb/eventstoredb.client.js';
import { EventStoreDbEventStore } from '../../src/adapters/eventstoredb/eventstoredb.event-store.js';
import { unavailableOr } from '../../src/adapters/eventstoredb/eventstoredb.unavailable.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve, type RunningServer } from '../../src/infrastructure/server.js';
import { registered } from '../support/builders.js';

// EventStoreDB down (nothing listens on its port): the adapter says so as StoreUnavailable, and the
// API answers 503 STORE_UNAVAILABLE with Retry-After, as /health answers 503; never 500
// INTERNAL_ERROR, never a client error. The client gives up on a refused connection at once.

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
    const other = new Error('something else');
    expect(unavailableOr(other)).toBe(other);
  });
});

describe('the server (npm start) on an unreachable EventStoreDB', () => {
  const WRITE_KEY = 'wk-esdb-down-0123456789';
  const ADMIN_TOKEN = 'adm-esdb-down-0123456789abcdef';
  let dataDir: string;
  let running: RunningServer;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'c360-esdb-down-'));
    const config = loadConfig({
      C360_STORE: 'eventstoredb',
      ESDB_CONNECTION_STRING: connectionString,
      C360_DATA_DIR: dataDir,
      PORT: '0',
      C360_LAKE: 'off',
      C360_WRITE_KEY: WRITE_KEY,
      C360_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    running = await serve(config, () => {});
  });
  afterAll(async () => {
    await running?.close();
    await rm(dataDir, { recursive: true, force: true });
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
