import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, type StandIn } from '../support/esdb-standin/server.js';

// The stand-in's semantics through the official client: if these hold, the adapter's tests on the
// stand-in say something about a real EventStoreDB.

let standIn: StandIn;
let client: EventStoreDBClient;
beforeAll(async () => {
  standIn = await startStandIn();
  client = EventStoreDBClient.connectionString(standIn.connectionString);
});
afterAll(async () => {
  await Promise.race([client.dispose(), new Promise((r) => setTimeout(r, 2_000))]);
  await standIn.stop();
});

let n = 0;
const stream = (): string => `standin-${Date.now()}-${n++}`;
const events = (count: number) => Array.from({ length: count }, (_, i) => jsonEvent({ type: 'Happened', data: { i } }));
const drain = async (read: AsyncIterable<ResolvedEvent>): Promise<ResolvedEvent[]> => {
  const out: ResolvedEvent[] = [];
  for await (const e of read) out.push(e);
  return out;
};
const revisions = (read: ResolvedEvent[]) => read.map((e) => Number(e.event!.revision));

describe('EventStoreDB stand-in, through @eventstore/db-client', () => {
  it('appends with every kind of expected revision and reports current revision and position', async () => {
    const s = stream();
    const first = await client.appendToStream(s, events(2), { expectedRevision: 'no_stream' });
    expect(first).toMatchObject({ success: true, nextExpectedRevision: 1n });
    expect(first.position!.commit).toBeGreaterThan(0n);
    const second = await client.appendToStream(s, events(1), { expectedRevision: 1n });
    expect(second.nextExpectedRevision).toBe(2n);
    expect(second.position!.commit).toBeGreaterThan(first.position!.commit);
    await expect(client.appendToStream(s, events(1), { expectedRevision: 'stream_exists' })).resolves.toMatchObject({ nextExpectedRevision: 3n });
    await expect(client.appendToStream(s, events(1), { expectedRevision: 'any' })).resolves.toMatchObject({ nextExpectedRevision: 4n });
  });

  it('a wrong expected revision fails with WrongExpectedVersionError naming current and expected', async () => {
    const s = stream();
    const missing = await client.appendToStream(s, events(1), { expectedRevision: 3n }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WrongExpectedVersionError);
    expect(missing).toMatchObject({ streamName: s, actualVersion: 'no_stream', expectedVersion: 3n });
    await expect(client.appendToStream(s, events(1), { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await client.appendToStream(s, events(3));
    const stale = await client.appendToStream(s, events(1), { expectedRevision: 0n }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ actualVersion: 2n, expectedVersion: 0n });
    await expect(client.appendToStream(s, events(1), { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      actualVersion: 2n,
      expectedVersion: 'no_stream',
    });
  });

  it('repeating an append with the same event ids at the same expected revision is idempotent', async () => {
    const s = stream();
    const batch = events(2);
    await client.appendToStream(s, batch, { expectedRevision: 'no_stream' });
    await expect(client.appendToStream(s, batch, { expectedRevision: 'no_stream' })).resolves.toMatchObject({ success: true, nextExpectedRevision: 1n });
    expect(await drain(client.readStream(s))).toHaveLength(2);
  });

  it('reads a stream forwards and backwards, from start, end or a revision, with a count', async () => {
    const s = stream();
    await client.appendToStream(s, events(5));
    const all = await drain(client.readStream(s));
    expect(revisions(all)).toEqual([0, 1, 2, 3, 4]);
    expect(all[0]!.event).toMatchObject({ streamId: s, type: 'Happened', data: { i: 0 }, isJson: true });
    expect(revisions(await drain(client.readStream(s, { fromRevision: 2n, maxCount: 2 })))).toEqual([2, 3]);
    expect(revisions(await drain(client.readStream(s, { direction: BACKWARDS, fromRevision: END, maxCount: 2 })))).toEqual([4, 3]);
    expect(revisions(await drain(client.readStream(s, { direction: BACKWARDS, fromRevision: 1n })))).toEqual([1, 0]);
    expect(await drain(client.readStream(s, { fromRevision: 9n }))).toEqual([]);
  });

  it('stamps created in 100 ns ticks since the Unix epoch, which the client reads as the append time', async () => {
    const s = stream();
    const before = Date.now();
    await client.appendToStream(s, events(1));
    const [e] = await drain(client.readStream(s));
    expect(e!.event!.created.getTime()).toBeGreaterThanOrEqual(before);
    expect(e!.event!.created.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('a stream that was never written fails the read with StreamNotFoundError', async () => {
    const s = stream();
    await expect(drain(client.readStream(s))).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('reads $all in position order both ways, from start, end or a position', async () => {
    const [a, b] = [stream(), stream()];
    await client.appendToStream(a, events(1));
    const { position } = await client.appendToStream(b, events(2));
    await client.appendToStream(a, events(1));
    const forwards = (await drain(client.readAll())).filter((e) => e.event!.streamId === a || e.event!.streamId === b);
    expect(forwards.map((e) => `${e.event!.streamId === a ? 'a' : 'b'}${e.event!.revision}`)).toEqual(['a0', 'b0', 'b1', 'a1']);
    const commits = forwards.map((e) => e.event!.position!.commit);
    expect(commits.every((c, i) => i === 0 || commits[i - 1]! < c)).toBe(true);
    // forwards from a position includes the event at it; backwards excludes it
    const from = await drain(client.readAll({ fromPosition: position!, maxCount: 2 }));
    expect(from.map((e) => e.event!.position!.commit)).toEqual([commits[2], commits[3]]);
    const back = await drain(client.readAll({ direction: BACKWARDS, fromPosition: position!, maxCount: 1 }));
    expect(back.map((e) => e.event!.position!.commit)).toEqual([commits[1]]);
    const last = await drain(client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
    expect(last[0]!.event!.streamId).toBe(a);
  });

  it('a soft-deleted stream reads as not found, and appending again continues its revisions', async () => {
    const s = stream();
    await client.appendToStream(s, events(2));
    await expect(client.deleteStream(s, { expectedRevision: 0n })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await client.deleteStream(s, { expectedRevision: 1n });
    await expect(drain(client.readStream(s))).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(client.appendToStream(s, events(1))).resolves.toMatchObject({ nextExpectedRevision: 2n });
    expect(revisions(await drain(client.readStream(s)))).toEqual([2]);
  });

  it('a tombstoned stream refuses reads, appends and deletes with StreamDeletedError', async () => {
    const s = stream();
    await client.appendToStream(s, events(1));
    await client.tombstoneStream(s);
    await expect(drain(client.readStream(s))).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(client.appendToStream(s, events(1))).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(client.appendToStream(s, events(1), { expectedRevision: 'no_stream' })).rejects.toMatchObject({ streamName: s });
    await expect(client.tombstoneStream(s)).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('refuses an append over the maximum append size, as the server does by default', async () => {
    const s = stream();
    const big = jsonEvent({ type: 'Big', data: { x: 'x'.repeat(1_100_000) } });
    await expect(client.appendToStream(s, big)).rejects.toMatchObject({ type: 'maximum-append-size-exceeded', maxAppendSize: 1_048_576 });
  });

  it('a read left early can be cancelled, and the client still disposes promptly', async () => {
    const s = stream();
    await client.appendToStream(s, events(20));
    const read = client.readStream(s);
    for await (const _ of read) break;
    const other = EventStoreDBClient.connectionString(standIn.connectionString);
    const early = other.readStream(s);
    await new Promise<void>((resolve) => early.once('data', () => resolve()));
    await early.cancel();
    const disposed = await Promise.race([other.dispose().then(() => true), new Promise((r) => setTimeout(() => r(false), 3_000))]);
    expect(disposed).toBe(true);
  });
});
