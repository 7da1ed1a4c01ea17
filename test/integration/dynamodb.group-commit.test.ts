import { randomUUID } from 'node:crypto';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  type CancellationReason,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Commit, CommitResult } from '../../src/application/ports/event-store.port.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { append, claimKey, registered } from '../support/builders.js';

// Group commit and coalesced reads on DynamoDB Local, where the contract cannot look: how many
// requests went out, and what happens when DynamoDB refuses or cancels a group. The contract
// (test/contract/event-store.contract.ts) checks the outcomes on every store.

const endpoint = inject('dynamoEndpoint');
const tableName = `events-group-${randomUUID()}`;
const DAY = 86_400_000;
/** a claim key nobody holds */
const unclaimed = `unclaimed-${randomUUID()}`;
const setup = createDynamoDbClient({ endpoint });
beforeAll(() => ensureTables(setup, { events: tableName }));
afterAll(() => setup.destroy());

type Sent = { command: string; items: number; error?: string };
type Fault = (command: string, input: { TransactItems?: TransactWriteItem[] }) => Error | undefined;

/** A client of its own that records every request (command, transaction size, error) and can refuse or delay some. */
const recordingClient = (
  options: { fault?: Fault; delayMs?: (command: string, input: { TransactItems?: TransactWriteItem[] }) => number; maxAttempts?: number } = {},
) => {
  const client = createDynamoDbClient({ endpoint, ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}) });
  const sent: Sent[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? '?').replace(/Command$/, '');
      const input = args.input as { TransactItems?: TransactWriteItem[] };
      const entry: Sent = { command, items: input.TransactItems?.length ?? 0 };
      sent.push(entry);
      try {
        const fault = options.fault?.(command, input);
        if (fault) throw fault;
        const delay = options.delayMs?.(command, input) ?? 0;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        return await next(args);
      } catch (e) {
        entry.error = (e as Error).name;
        throw e;
      }
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  return { client, sent, of: (command: string) => sent.filter((s) => s.command === command) };
};

const settle = (p: Promise<CommitResult>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as Error }),
  );

let tenant: string;
let clients: DynamoDBClient[] = [];
beforeEach(() => {
  tenant = `t-${randomUUID()}`;
  for (const c of clients) c.destroy();
  clients = [];
});
const storeWith = (r: ReturnType<typeof recordingClient>, grouping?: { windowMs?: number }) => {
  clients.push(r.client);
  return new DynamoDbEventStore(r.client, { tableName, grouping });
};

/** A new customer's first commit: its event, one claim, an idempotency record (3 items). */
const first = (id = randomUUID(), key = claimKey()): Commit => ({
  tenant,
  streams: [registered(tenant, id)],
  claims: [{ op: 'claim', key, owner: id }],
  idempotency: { key: `msg-${id}`, payloadHash: `h-${id}`, expiresAt: Date.now() + DAY },
});

describe('group commit on DynamoDB', () => {
  it('sends one turn of commits as few 100-item transactions as fit them; a lone commit keeps its own request', async () => {
    const r = recordingClient();
    const store = storeWith(r);
    const commits = Array.from({ length: 60 }, () => first());
    const results = await Promise.all(commits.map((c) => store.commit(c)));
    expect(results.map((x) => x.status)).toEqual(commits.map(() => 'committed'));
    // 60 x 3 items: 33 commits (99 items), then 27
    expect(r.of('TransactWriteItems').map((s) => s.items)).toEqual([99, 81]);
    expect(r.sent.filter((s) => s.command !== 'TransactWriteItems')).toEqual([]);
    expect(store.groupStats).toEqual({ groups: 2, members: 60, largestGroup: 33 });

    const lone = randomUUID();
    await expect(store.commit({ tenant, claims: [], streams: [registered(tenant, lone)] })).resolves.toEqual({ status: 'committed', versions: { [lone]: 1 } });
    await expect(store.commit(first())).resolves.toMatchObject({ status: 'committed' });
    expect(r.sent.slice(2)).toEqual([
      { command: 'PutItem', items: 0 },
      { command: 'TransactWriteItems', items: 3 },
    ]);
  });

  it('commits touching the same stream, claim or idempotency key go in later transactions, in arrival order', async () => {
    const r = recordingClient();
    const store = storeWith(r);
    const a = randomUUID();
    const key = claimKey();
    const commits: Commit[] = [
      { tenant, claims: [{ op: 'claim', key, owner: a }], streams: [append(tenant, a, 0, 1)] },
      first(),
      { tenant, claims: [], streams: [append(tenant, a, 1, 2)] },
      { tenant, claims: [{ op: 'transfer', key, expectedOwner: a, owner: 'b' }], streams: [] },
      first(),
      { tenant, claims: [], streams: [append(tenant, a, 3, 1)] },
    ];
    const results = await Promise.all(commits.map((c) => store.commit(c)));
    expect(results.map((x) => x.status)).toEqual(commits.map(() => 'committed'));
    // [0, 1, 4], then [2, 3], then [5]: DynamoDB never saw one item twice in a transaction
    expect(r.of('TransactWriteItems').map((s) => [s.items, s.error])).toEqual([
      [1 + 1 + 3 + 3, undefined],
      [2 + 1 + 1, undefined],
      [1 + 1, undefined],
    ]);
    expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, 'b']]));
  });

  it('a commit in a later turn to a stream whose group is still in flight waits for that group', async () => {
    // the group of two is slow to reach DynamoDB
    const r = recordingClient({ delayMs: (command, input) => (command === 'TransactWriteItems' && input.TransactItems?.length === 6 ? 300 : 0) });
    const store = storeWith(r, { windowMs: 0 });
    const a = randomUUID();
    const earlier = Promise.all([store.commit(first(a)), store.commit(first())]);
    await new Promise((resolve) => setImmediate(resolve)); // the group of two is on its way
    // sent at once, its check that version 1 exists would find nothing yet, or cancel the group
    const later = await store.commit({ tenant, claims: [], streams: [append(tenant, a, 1, 2)] });
    expect(later).toEqual({ status: 'committed', versions: { [a]: 3 } });
    expect((await earlier).map((x) => x.status)).toEqual(['committed', 'committed']);
    expect(r.of('TransactWriteItems').map((s) => [s.items, s.error])).toEqual([
      [6, undefined],
      [3, undefined],
    ]);
  });

  it('a cancelled group: members whose conditions failed get their own answers, the rest commit in one more transaction', async () => {
    const r = recordingClient();
    const store = storeWith(r);
    const [owner, stale, replayed] = [randomUUID(), randomUUID(), randomUUID()];
    const taken = claimKey();
    await store.commit(first(owner, taken));
    await store.commit({ tenant, claims: [], streams: [append(tenant, stale, 0, 3)] });
    await store.commit(first(replayed));
    const before = r.sent.length;

    const good = Array.from({ length: 8 }, () => first());
    const loser = randomUUID();
    const commits = [
      ...good.slice(0, 3),
      first(loser, taken),
      ...good.slice(3, 6),
      { tenant, claims: [], streams: [append(tenant, stale, 1, 1)] },
      { ...first(), idempotency: { key: `msg-${replayed}`, payloadHash: 'other', expiresAt: Date.now() + DAY } },
      ...good.slice(6),
    ];
    const results = await Promise.all(commits.map((c) => store.commit(c)));
    expect(results[3]).toEqual({ status: 'conflict', current: { streams: { [loser]: 0 }, claims: { [taken]: owner } } });
    expect(results[7]).toEqual({ status: 'conflict', current: { streams: { [stale]: 3 }, claims: {} } });
    expect(results[8]).toEqual({ status: 'duplicate', payloadHash: `h-${replayed}` });
    for (const i of [0, 1, 2, 4, 5, 6, 9, 10]) expect(results[i]!.status).toBe('committed');
    const sent = r.sent.slice(before);
    expect(sent.filter((s) => s.command === 'TransactWriteItems').map((s) => [s.items, s.error])).toEqual([
      [8 * 3 + 3 + 1 + 3, 'TransactionCanceledException'],
      [8 * 3, undefined],
    ]);
    // the stale append's version was not pinned by its reasons: one consistent query read it
    expect(sent.filter((s) => s.command !== 'TransactWriteItems').map((s) => s.command)).toEqual(['Query']);
  });

  it('a member DynamoDB refuses (a key over 2,048 bytes) fails as it fails alone; the rest of its group commits', async () => {
    const r = recordingClient();
    const store = storeWith(r);
    const alone = await settle(store.commit(first(randomUUID(), 'k'.repeat(2_100))));
    expect(alone.ok).toBe(false);
    const refusal = (alone as { error: Error }).error.message;
    expect(refusal).toMatch(/ValidationError/);

    const commits = [first(), first(), first(randomUUID(), 'k'.repeat(2_100)), first(), first()];
    const results = await Promise.all(commits.map((c) => settle(store.commit(c))));
    expect(results.map((x) => x.ok)).toEqual([true, true, false, true, true]);
    expect((results[2] as { error: Error }).error.message).toBe(refusal);
    for (const i of [0, 1, 3, 4]) expect(await store.readStream(tenant, commits[i]!.streams[0]!.streamId)).toHaveLength(1);
    await expect(store.readStream(tenant, commits[2]!.streams[0]!.streamId)).resolves.toEqual([]);
  });

  it('a concurrent transaction elsewhere cancels the group: it is sent again after a pause, whole', async () => {
    let cancelled = 0;
    const r = recordingClient({
      fault: (command, input) => {
        if (command !== 'TransactWriteItems' || (input.TransactItems?.length ?? 0) < 6 || cancelled++ > 0) return undefined;
        const reasons: CancellationReason[] = input.TransactItems!.map((_, i) => ({ Code: i === 4 ? 'TransactionConflict' : 'None' }));
        return new TransactionCanceledException({
          message: 'Transaction cancelled (injected)',
          $metadata: { httpStatusCode: 400 },
          CancellationReasons: reasons,
        });
      },
    });
    const store = storeWith(r);
    const commits = Array.from({ length: 4 }, () => first());
    const results = await Promise.all(commits.map((c) => store.commit(c)));
    expect(results.map((x) => x.status)).toEqual(commits.map(() => 'committed'));
    expect(r.of('TransactWriteItems').map((s) => [s.items, s.error])).toEqual([
      [12, 'TransactionCanceledException'],
      [12, undefined],
    ]);
  });

  it('a group refused outright (throttled beyond the SDK retries) is committed one commit at a time', async () => {
    const r = recordingClient({
      maxAttempts: 1,
      fault: (command, input) =>
        command === 'TransactWriteItems' && (input.TransactItems?.length ?? 0) > 3
          ? new ProvisionedThroughputExceededException({ message: 'throttled (injected)', $metadata: { httpStatusCode: 400 } })
          : undefined,
    });
    const store = storeWith(r);
    const commits = Array.from({ length: 5 }, () => first());
    const results = await Promise.all(commits.map((c) => store.commit(c)));
    expect(results.map((x) => x.status)).toEqual(commits.map(() => 'committed'));
    expect(r.of('TransactWriteItems').map((s) => [s.items, s.error])).toEqual([
      [15, 'ProvisionedThroughputExceededException'],
      ...commits.map(() => [3, undefined]),
    ]);
  });

  it('an error that leaves open whether the group landed fails every member, as it fails a lone commit', async () => {
    const r = recordingClient({
      maxAttempts: 1,
      fault: (command) =>
        command === 'TransactWriteItems' ? new InternalServerError({ message: 'internal error (injected)', $metadata: { httpStatusCode: 500 } }) : undefined,
    });
    const store = storeWith(r);
    const alone = await settle(store.commit(first()));
    expect(alone).toMatchObject({ ok: false, error: { name: 'InternalServerError' } });
    const results = await Promise.all(Array.from({ length: 4 }, () => settle(store.commit(first()))));
    for (const x of results) expect(x).toMatchObject({ ok: false, error: { name: 'InternalServerError' } });
    expect(r.of('TransactWriteItems').map((s) => s.items)).toEqual([3, 12]);
  });
});

describe('coalesced reads on DynamoDB', () => {
  it('one turn of idempotency and claim reads is one BatchGetItem per 100 distinct keys', async () => {
    const r = recordingClient();
    const store = storeWith(r);
    const ids = Array.from({ length: 30 }, () => randomUUID());
    const keys = ids.map(() => claimKey());
    await Promise.all(ids.map((id, i) => store.commit(first(id, keys[i]))));
    const before = r.sent.length;
    const [records, owners] = await Promise.all([
      Promise.all(ids.map((id) => store.getIdempotency(tenant, `msg-${id}`, Date.now()))),
      Promise.all([...keys, ...keys.slice(0, 10)].map((k) => store.readClaims(tenant, [k, unclaimed]))),
    ]);
    records.forEach((rec, i) => expect(rec).toMatchObject({ key: `msg-${ids[i]}`, payloadHash: `h-${ids[i]}` }));
    owners.forEach((o, i) => expect(o).toEqual(new Map([[keys[i % 30]!, ids[i % 30]!]])));
    // 30 records + 30 claims + 1 absent claim = 61 distinct keys
    expect(r.sent.slice(before)).toEqual([{ command: 'BatchGetItem', items: 0 }]);
    expect(store.readStats).toEqual({ batches: 1, reads: 70 });
  });

  it('stream reads of one turn: one probe for all, a query only for the streams with something to read', async () => {
    const writer = storeWith(recordingClient());
    const existing = Array.from({ length: 5 }, () => randomUUID());
    await Promise.all(existing.map((id) => writer.commit({ tenant, claims: [], streams: [append(tenant, id, 0, 3)] })));
    const r = recordingClient();
    const store = storeWith(r); // a process that has never seen these streams
    const fresh = Array.from({ length: 30 }, () => randomUUID());
    const [empty, full, tails, ends] = await Promise.all([
      Promise.all(fresh.map((id) => store.readStream(tenant, id))),
      Promise.all(existing.map((id) => store.readStream(tenant, id))),
      Promise.all(existing.map((id) => store.readStream(tenant, id, 1))),
      Promise.all(existing.map((id) => store.readStream(tenant, id, 3))),
    ]);
    expect(empty).toEqual(fresh.map(() => []));
    expect(full.map((events) => events.map((e) => e.version))).toEqual(existing.map(() => [1, 2, 3]));
    expect(tails.map((events) => events.map((e) => e.version))).toEqual(existing.map(() => [2, 3]));
    expect(ends).toEqual(existing.map(() => []));
    expect(r.sent.map((s) => s.command)).toEqual(['BatchGetItem', ...Array.from({ length: 10 }, () => 'Query')]);
    // once seen, a stream is known to go on: no probe before its query
    await expect(store.readStream(tenant, existing[0]!, 2)).resolves.toHaveLength(1);
    expect(r.sent.at(-1)).toEqual({ command: 'Query', items: 0 });
    expect(r.sent).toHaveLength(12);
  });

  it('a key DynamoDB refuses fails its own reader only, as it would alone', async () => {
    const r = recordingClient();
    const store = storeWith(r);
    const id = randomUUID();
    await store.commit(first(id));
    const tooLong = 'm'.repeat(2_100);
    const alone = await store.getIdempotency(tenant, tooLong, Date.now()).then(
      () => 'answered',
      (e: Error) => e.name,
    );
    expect(alone).toBe('ValidationException');
    const [good, bad, claims] = await Promise.all([
      store.getIdempotency(tenant, `msg-${id}`, Date.now()),
      store.getIdempotency(tenant, tooLong, Date.now()).then(
        () => 'answered',
        (e: Error) => e.name,
      ),
      store.readClaims(tenant, [unclaimed]),
    ]);
    expect(good).toMatchObject({ payloadHash: `h-${id}` });
    expect(bad).toBe('ValidationException');
    expect(claims).toEqual(new Map());
  });
});
