import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import type { Commit, CommitResult, EventStore, StoredEvent } from '../../application/ports/event-store.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { append, claimKey, registered, storedEvent } from '../builders.js';
import { readAllEvents } from '../paging.js';

// Tenants are unique per test so adapters backed by a shared server need no cleanup.
const newTenant = (): string => `t-${randomUUID()}`;
const newId = (): string => randomUUID();
const ids = (events: readonly StoredEvent[]): string[] => events.map((e) => e.eventId);
const DAY = 86_400_000;

type Fired = {
  readonly commit: Commit;
  readonly outcome: { readonly ok: true; readonly result: CommitResult } | { readonly ok: false; readonly error: unknown };
};

/** Fires every commit in the same turn, in array order, and waits for each to settle. */
const fireTogether = (store: EventStore, commits: readonly Commit[]): Promise<Fired[]> =>
  Promise.all(
    commits.map((c) =>
      store.commit(c).then(
        (result) => ({ commit: c, outcome: { ok: true as const, result } }),
        (error: unknown) => ({ commit: c, outcome: { ok: false as const, error } }),
      ),
    ),
  );

const statusOf = (f: Fired): string => (f.outcome.ok ? f.outcome.result.status : 'rejected');

/**
 * All or nothing, for commits that each claim keys for their own first stream: a committed one is
 * in the log whole, at the versions it expected, holds its claims and its idempotency record; any
 * other left no event, no claim and no record behind.
 */
const expectAllOrNothing = async (store: EventStore, tenant: string, fired: readonly Fired[]): Promise<void> => {
  const logged = new Set(ids(await readAllEvents(store, tenant, 1_000)));
  for (const { commit, outcome } of fired) {
    const committed = outcome.ok && outcome.result.status === 'committed';
    for (const s of commit.streams) {
      for (const e of s.events) expect(logged.has(e.eventId), `event ${e.eventId} of a ${committed ? 'committed' : 'refused'} commit`).toBe(committed);
      if (committed) expect(ids((await store.readStream(tenant, s.streamId, s.expectedVersion)).slice(0, s.events.length))).toEqual(ids(s.events));
    }
    const owners = await store.readClaims(
      tenant,
      commit.claims.map((c) => c.key),
    );
    for (const c of commit.claims)
      if (c.op === 'claim') expect(owners.get(c.key) === c.owner, `claim ${c.key} of a ${committed ? 'committed' : 'refused'} commit`).toBe(committed);
    if (commit.idempotency) {
      const recorded = await store.getIdempotency(tenant, commit.idempotency.key, Date.now());
      if (committed) expect(recorded).toEqual(commit.idempotency);
      else expect(recorded?.payloadHash).not.toBe(commit.idempotency.payloadHash);
    }
  }
};

export type EventStoreContractOptions = {
  /**
   * whether the store can remove an event's pii (EventStore.redactPii); default true. A store whose
   * events cannot be changed (EventStoreDB) says false, and the suite checks it has no such method.
   */
  readonly redactsPii?: boolean | undefined;
  /**
   * whether a commit can carry more idempotency records (Commit.alsoRecorded); default true. A
   * store that records one key per commit (EventStoreDB) says false, and must refuse such a commit
   * whole.
   */
  readonly alsoRecords?: boolean | undefined;
};

export const eventStoreContract = (name: string, make: () => Promise<EventStore> | EventStore, options: EventStoreContractOptions = {}): void => {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let tenant: string;
    beforeEach(async () => {
      store = await make();
      tenant = newTenant();
    });

    const commit = (c: Omit<Commit, 'tenant' | 'claims'> & Partial<Pick<Commit, 'claims'>>): Promise<CommitResult> =>
      store.commit({ tenant, claims: [], ...c });

    describe('appending', () => {
      it('reads back what was committed, in version order, with the new versions returned', async () => {
        const a = newId();
        const b = newId();
        const first = append(tenant, a, 0, 3);
        const second = registered(tenant, b);
        await expect(commit({ streams: [first, second] })).resolves.toEqual({ status: 'committed', versions: { [a]: 3, [b]: 1 } });
        const more = append(tenant, a, 3, 2);
        await expect(commit({ streams: [more] })).resolves.toEqual({ status: 'committed', versions: { [a]: 5 } });

        const read = await store.readStream(tenant, a);
        expect(read.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
        expect(ids(read)).toEqual(ids([...first.events, ...more.events]));
        const { position: _, ...withoutPosition } = read[0]!;
        expect(withoutPosition).toEqual(JSON.parse(JSON.stringify(first.events[0])));
        expect(ids(await store.readStream(tenant, b))).toEqual(ids(second.events));
      });

      it('reads a stream after a version, and nothing for an unknown stream', async () => {
        const a = newId();
        await commit({ streams: [append(tenant, a, 0, 5)] });
        expect((await store.readStream(tenant, a, 3)).map((e) => e.version)).toEqual([4, 5]);
        expect((await store.readStream(tenant, a, 0)).map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
        await expect(store.readStream(tenant, a, 5)).resolves.toEqual([]);
        await expect(store.readStream(tenant, newId())).resolves.toEqual([]);
      });

      it('refuses events that do not continue the stream or belong to another tenant, writing nothing', async () => {
        const a = newId();
        const gap = { streamId: a, expectedVersion: 0, events: [storedEvent(tenant, a, 1), storedEvent(tenant, a, 3)] };
        await expect(commit({ streams: [gap] })).rejects.toThrow(/version/);
        const foreign = { streamId: a, expectedVersion: 0, events: [storedEvent(newTenant(), a, 1)] };
        await expect(commit({ streams: [foreign] })).rejects.toThrow(/tenant/);
        await expect(store.readStream(tenant, a)).resolves.toEqual([]);
      });
    });

    describe('optimistic concurrency', () => {
      it('a stale expected version conflicts with the current versions and writes nothing to any stream', async () => {
        const a = newId();
        const b = newId();
        const key = claimKey();
        await commit({ streams: [append(tenant, a, 0, 2), registered(tenant, b)] });

        const stale = await commit({
          idempotency: { key: 'msg-stale', payloadHash: 'h1', expiresAt: Date.now() + DAY },
          streams: [append(tenant, b, 1, 1), append(tenant, a, 1, 1)],
          claims: [{ op: 'claim', key, owner: b }],
        });

        expect(stale).toEqual({ status: 'conflict', current: { streams: { [a]: 2, [b]: 1 }, claims: { [key]: null } } });
        expect((await store.readStream(tenant, b)).map((e) => e.version)).toEqual([1]);
        expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual([1, 2]);
        expect((await store.readClaims(tenant, [key])).size).toBe(0);
        await expect(store.getIdempotency(tenant, 'msg-stale', Date.now())).resolves.toBeUndefined();
        expect(await readAllEvents(store, tenant, 100)).toHaveLength(3);
      });

      it('expected version 0 means the stream must not exist yet', async () => {
        const a = newId();
        await commit({ streams: [registered(tenant, a)] });
        await expect(commit({ streams: [registered(tenant, a)] })).resolves.toEqual({
          status: 'conflict',
          current: { streams: { [a]: 1 }, claims: {} },
        });
      });

      it('16 concurrent writers retrying on conflict leave gapless versions with every accepted event exactly once', async () => {
        const a = newId();
        const perWriter = 4;
        const writer = async (w: number): Promise<string[]> => {
          const accepted: string[] = [];
          for (let n = 0; n < perWriter; n++) {
            let version = (await store.readStream(tenant, a)).length;
            for (let attempt = 0; ; attempt++) {
              if (attempt > 200) throw new Error(`writer ${w} starved`);
              const event = storedEvent(tenant, a, version + 1, { data: { writer: w, n } });
              const result = await commit({ streams: [{ streamId: a, expectedVersion: version, events: [event] }] });
              if (result.status === 'committed') {
                accepted.push(event.eventId);
                break;
              }
              if (result.status !== 'conflict') throw new Error(`unexpected ${result.status}`);
              version = result.current.streams[a]!;
            }
          }
          return accepted;
        };

        const accepted = (await Promise.all(Array.from({ length: 16 }, (_, w) => writer(w)))).flat();
        const stream = await store.readStream(tenant, a);
        expect(stream.map((e) => e.version)).toEqual(Array.from({ length: 16 * perWriter }, (_, i) => i + 1));
        expect(new Set(ids(stream))).toEqual(new Set(accepted));
        expect(accepted).toHaveLength(16 * perWriter);
      });
    });

    describe('claims', () => {
      it('a claimed key cannot be claimed again: conflict names the owner and nothing is written', async () => {
        const a = newId();
        const b = newId();
        const key = claimKey();
        await expect(commit({ streams: [registered(tenant, a)], claims: [{ op: 'claim', key, owner: a }] })).resolves.toMatchObject({ status: 'committed' });

        const second = await commit({ streams: [registered(tenant, b)], claims: [{ op: 'claim', key, owner: b }] });
        expect(second).toEqual({ status: 'conflict', current: { streams: { [b]: 0 }, claims: { [key]: a } } });
        await expect(store.readStream(tenant, b)).resolves.toEqual([]);
        expect(await store.readClaims(tenant, [key, claimKey()])).toEqual(new Map([[key, a]]));
      });

      it('two concurrent first commits claiming the same key: exactly one customer exists', async () => {
        const key = claimKey();
        const contenders = Array.from({ length: 8 }, () => newId());
        const results = await Promise.all(contenders.map((id) => commit({ streams: [registered(tenant, id)], claims: [{ op: 'claim', key, owner: id }] })));
        const winners = contenders.filter((_, i) => results[i]!.status === 'committed');
        expect(winners).toHaveLength(1);
        expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, winners[0]]]));
        for (const r of results) if (r.status === 'conflict') expect(r.current.claims[key]).toBe(winners[0]);
        expect((await readAllEvents(store, tenant, 100)).map((e) => e.streamId)).toEqual(winners);
      });

      it('release frees a key held by the expected owner, is a no-op when unclaimed, and conflicts otherwise', async () => {
        const a = newId();
        const b = newId();
        const [k1, k2] = [claimKey(), claimKey()];
        await commit({ streams: [registered(tenant, a)], claims: [{ op: 'claim', key: k1, owner: a }] });
        await commit({ streams: [registered(tenant, b)], claims: [{ op: 'claim', key: k2, owner: b }] });

        const wrongOwner = await commit({ streams: [append(tenant, a, 1)], claims: [{ op: 'release', key: k2, expectedOwner: a }] });
        expect(wrongOwner).toEqual({ status: 'conflict', current: { streams: { [a]: 1 }, claims: { [k2]: b } } });

        const released = await commit({ streams: [append(tenant, a, 1)], claims: [{ op: 'release', key: k1, expectedOwner: a }] });
        expect(released).toEqual({ status: 'committed', versions: { [a]: 2 } });
        expect(await store.readClaims(tenant, [k1, k2])).toEqual(new Map([[k2, b]]));

        // erasure retries must be able to release again
        const again = await commit({ streams: [], claims: [{ op: 'release', key: k1, expectedOwner: a }] });
        expect(again.status).toBe('committed');
        // a released key is free for anyone
        await expect(commit({ streams: [], claims: [{ op: 'claim', key: k1, owner: b }] })).resolves.toMatchObject({ status: 'committed' });
        expect((await store.readClaims(tenant, [k1])).get(k1)).toBe(b);
      });

      it('transfer moves a key only from its expected owner', async () => {
        const a = newId();
        const b = newId();
        const key = claimKey();
        const unclaimed = claimKey();
        await commit({ streams: [registered(tenant, a)], claims: [{ op: 'claim', key, owner: a }] });

        await expect(commit({ streams: [], claims: [{ op: 'transfer', key, expectedOwner: b, owner: b }] })).resolves.toEqual({
          status: 'conflict',
          current: { streams: {}, claims: { [key]: a } },
        });
        await expect(commit({ streams: [], claims: [{ op: 'transfer', key: unclaimed, expectedOwner: a, owner: b }] })).resolves.toEqual({
          status: 'conflict',
          current: { streams: {}, claims: { [unclaimed]: null } },
        });
        expect(await store.readClaims(tenant, [key, unclaimed])).toEqual(new Map([[key, a]]));

        await expect(commit({ streams: [], claims: [{ op: 'transfer', key, expectedOwner: a, owner: b }] })).resolves.toMatchObject({ status: 'committed' });
        expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, b]]));
      });
    });

    describe('idempotency', () => {
      it('a recorded key returns the stored payload hash and changes nothing', async () => {
        const a = newId();
        const key = claimKey();
        const record = { key: 'msg-1', payloadHash: 'hash-original', expiresAt: Date.now() + 7 * DAY };
        await commit({ idempotency: record, streams: [registered(tenant, a)] });
        await expect(store.getIdempotency(tenant, 'msg-1', Date.now())).resolves.toEqual(record);

        const replay = await commit({
          idempotency: { ...record, payloadHash: 'hash-different' },
          streams: [append(tenant, a, 1, 2)],
          claims: [{ op: 'claim', key, owner: a }],
        });
        expect(replay).toEqual({ status: 'duplicate', payloadHash: 'hash-original' });
        expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual([1]);
        expect((await store.readClaims(tenant, [key])).size).toBe(0);
        await expect(store.getIdempotency(tenant, 'msg-1', Date.now())).resolves.toEqual(record);
      });

      if (options.alsoRecords === false) {
        it('refuses a commit with more idempotency records, writing nothing', async () => {
          const a = newId();
          expect(store.alsoRecords).toBe(false);
          const also = [{ key: 'dec-refused', payloadHash: 'hd', expiresAt: Date.now() + DAY }];
          await expect(
            commit({
              idempotency: { key: 'msg-refused', payloadHash: 'h', expiresAt: Date.now() + DAY },
              alsoRecorded: also,
              streams: [registered(tenant, a)],
            }),
          ).rejects.toThrow(/alsoRecorded/);
          expect(await store.readStream(tenant, a)).toEqual([]);
          await expect(store.getIdempotency(tenant, 'dec-refused', Date.now())).resolves.toBeUndefined();
        });
      } else {
        it('records written with a commit, unchecked, answer later commits under their keys as duplicates', async () => {
          expect(store.alsoRecords).not.toBe(false);
          const a = newId();
          const b = newId();
          const expiresAt = Date.now() + DAY;
          const also = [
            { key: 'dec-1', payloadHash: 'hd1', expiresAt },
            { key: 'dec-2', payloadHash: 'hd2', expiresAt },
          ];
          await expect(
            commit({ idempotency: { key: 'msg-a', payloadHash: 'ha', expiresAt }, alsoRecorded: also, streams: [registered(tenant, a)] }),
          ).resolves.toEqual({
            status: 'committed',
            versions: { [a]: 1 },
          });
          for (const r of also) await expect(store.getIdempotency(tenant, r.key, Date.now())).resolves.toEqual(r);
          await expect(commit({ idempotency: { key: 'dec-2', payloadHash: 'other', expiresAt }, streams: [append(tenant, a, 1)] })).resolves.toEqual({
            status: 'duplicate',
            payloadHash: 'hd2',
          });
          expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual([1]);
          // unchecked: a key already recorded does not stop the commit, and takes the new record
          const again = { key: 'dec-1', payloadHash: 'hd1-again', expiresAt };
          await expect(commit({ alsoRecorded: [again], streams: [registered(tenant, b)] })).resolves.toEqual({ status: 'committed', versions: { [b]: 1 } });
          await expect(store.getIdempotency(tenant, 'dec-1', Date.now())).resolves.toEqual(again);
        });

        it('a commit that loses its race leaves none of its records behind', async () => {
          const a = newId();
          await commit({ streams: [registered(tenant, a)] });
          const also = [{ key: 'dec-lost', payloadHash: 'hd', expiresAt: Date.now() + DAY }];
          const lost = await commit({
            idempotency: { key: 'msg-lost', payloadHash: 'h', expiresAt: Date.now() + DAY },
            alsoRecorded: also,
            streams: [append(tenant, a, 0)],
          });
          expect(lost.status).toBe('conflict');
          await expect(store.getIdempotency(tenant, 'msg-lost', Date.now())).resolves.toBeUndefined();
          await expect(store.getIdempotency(tenant, 'dec-lost', Date.now())).resolves.toBeUndefined();
        });
      }

      it('a key recorded twice by one commit is a bug in the caller', async () => {
        const expiresAt = Date.now() + DAY;
        const record = { key: 'msg-twice', payloadHash: 'h', expiresAt };
        await expect(commit({ idempotency: record, alsoRecorded: [record], streams: [registered(tenant, newId())] })).rejects.toThrow(/twice/);
        await expect(commit({ alsoRecorded: [record, record], streams: [registered(tenant, newId())] })).rejects.toThrow(/twice/);
        await expect(store.getIdempotency(tenant, 'msg-twice', Date.now())).resolves.toBeUndefined();
      });

      it('an expired key is ignored by reads and by commits', async () => {
        const a = newId();
        const expiresAt = Date.now() - 60_000;
        await commit({ idempotency: { key: 'msg-old', payloadHash: 'h-old', expiresAt }, streams: [registered(tenant, a)] });
        await expect(store.getIdempotency(tenant, 'msg-old', expiresAt - 1)).resolves.toMatchObject({ payloadHash: 'h-old' });
        await expect(store.getIdempotency(tenant, 'msg-old', expiresAt)).resolves.toBeUndefined();

        const fresh = { key: 'msg-old', payloadHash: 'h-new', expiresAt: Date.now() + DAY };
        await expect(commit({ idempotency: fresh, streams: [append(tenant, a, 1)] })).resolves.toEqual({ status: 'committed', versions: { [a]: 2 } });
        await expect(store.getIdempotency(tenant, 'msg-old', Date.now())).resolves.toEqual(fresh);
      });
    });

    describe('reading the whole log', () => {
      it('pages through every event in commit order with no duplicates or gaps', async () => {
        const streams = [newId(), newId(), newId()];
        const versions = new Map(streams.map((s) => [s, 0]));
        const commits: string[][] = [];
        for (let i = 0; i < 12; i++) {
          const touched = i % 4 === 3 ? streams : [streams[i % 3]!];
          const appends = touched.map((s) => append(tenant, s, versions.get(s)!, 1 + (i % 2)));
          for (const ap of appends) versions.set(ap.streamId, ap.expectedVersion + ap.events.length);
          await commit({ streams: appends });
          commits.push(appends.flatMap((ap) => ids(ap.events)));
        }
        const total = commits.flat().length;

        for (const limit of [1, 4, 7, total, total + 5]) {
          const all = await readAllEvents(store, tenant, limit);
          expect(all).toHaveLength(total);
          expect(new Set(ids(all)).size).toBe(total);
          // commit order: the events of each commit come together, commits in order
          let offset = 0;
          for (const c of commits) {
            expect(new Set(ids(all.slice(offset, offset + c.length)))).toEqual(new Set(c));
            offset += c.length;
          }
          const positions = all.map((e) => e.position!);
          expect(positions.every((p, i) => i === 0 || positions[i - 1]! < p)).toBe(true);
        }
        // where the store reads from the end: the newest events, in commit order, the tail of readAll
        if (store.readLast) {
          const all = await readAllEvents(store, tenant, 1_000);
          for (const limit of [1, 4, total, total + 5])
            expect((await store.readLast(tenant, limit)).map((e) => [e.eventId, e.position])).toEqual(
              all.slice(-Math.min(limit, total)).map((e) => [e.eventId, e.position]),
            );
          expect(await store.readLast(`${tenant}-none`, 3)).toEqual([]);
        }
      });

      it('says where to resume, and nothing follows the last event', async () => {
        const a = newId();
        await commit({ streams: [append(tenant, a, 0, 3)] });
        const first = await store.readAll(tenant, { limit: 2 });
        expect(first.events.map((e) => e.version)).toEqual([1, 2]);
        expect(first.next).toBeDefined();
        const rest = await store.readAll(tenant, { after: first.next, limit: 2 });
        expect(rest.events.map((e) => e.version)).toEqual([3]);
        expect(rest.next).toBeUndefined();
        await expect(store.readAll(tenant, { after: rest.events[0]!.position, limit: 2 })).resolves.toMatchObject({ events: [] });
      });
    });

    describe('removing the pii of given events (redactPii)', () => {
      if (options.redactsPii === false) {
        it('has no redactPii: its events cannot be changed, and callers must say so', () => {
          expect(store.redactPii).toBeUndefined();
        });
        return;
      }
      const redact = (streamId: string, eventIds: readonly string[], t = tenant): Promise<number> => {
        if (!store.redactPii) throw new Error(`${name} has no redactPii`);
        return store.redactPii(t, streamId, eventIds);
      };
      const strip = (e: StoredEvent) => {
        const { position: _p, pii: _pii, ...rest } = e;
        return rest;
      };

      it('removes the pii of exactly the named events, keeps every other field and the log order, and a repeat changes nothing', async () => {
        const a = newId();
        const b = newId();
        const written = append(tenant, a, 0, 4);
        await commit({ streams: [written, append(tenant, b, 0, 1)] });
        const before = await store.readStream(tenant, a);
        const logBefore = await readAllEvents(store, tenant, 1_000);
        const [e1, e2, e3, e4] = before;
        // an id of another stream and an unknown id are left alone
        const theirs = (await store.readStream(tenant, b))[0]!;
        await expect(redact(a, [e2!.eventId, e4!.eventId, theirs.eventId, newId()])).resolves.toBe(2);

        const after = await store.readStream(tenant, a);
        expect(after.map((e) => e.pii)).toEqual([e1!.pii, undefined, e3!.pii, undefined]);
        expect(after.map(strip)).toEqual(before.map(strip));
        expect(after.map((e) => e.position)).toEqual(before.map((e) => e.position));
        expect((await store.readStream(tenant, b))[0]!.pii).toBe(theirs.pii);
        // the whole log: same events in the same order, the two without pii
        const logAfter = await readAllEvents(store, tenant, 1_000);
        expect(logAfter.map(strip)).toEqual(logBefore.map(strip));
        expect(logAfter.filter((e) => e.pii === undefined).map((e) => e.eventId)).toEqual([e2!.eventId, e4!.eventId]);

        await expect(redact(a, [e2!.eventId, e4!.eventId])).resolves.toBe(0);
        expect(await store.readStream(tenant, a)).toEqual(after);
        // the stream still takes its next version
        await expect(commit({ streams: [append(tenant, a, 4, 1)] })).resolves.toEqual({ status: 'committed', versions: { [a]: 5 } });
      });

      it('creates nothing: an unknown stream, an empty list, another tenant', async () => {
        const a = newId();
        await commit({ streams: [append(tenant, a, 0, 1)] });
        const [e] = await store.readStream(tenant, a);
        await expect(redact(newId(), [e!.eventId])).resolves.toBe(0);
        await expect(redact(a, [])).resolves.toBe(0);
        await expect(redact(a, [e!.eventId], newTenant())).resolves.toBe(0);
        expect((await store.readStream(tenant, a))[0]!.pii).toBe(e!.pii);
        expect(await readAllEvents(store, tenant, 1_000)).toHaveLength(1);
      });
    });

    describe('tenant isolation', () => {
      it('streams, claims, idempotency keys and the log of one tenant are invisible to another', async () => {
        const other = newTenant();
        const a = newId();
        const key = claimKey();
        const record = { key: 'msg-shared', payloadHash: 'h-a', expiresAt: Date.now() + DAY };
        await commit({ idempotency: record, streams: [append(tenant, a, 0, 2)], claims: [{ op: 'claim', key, owner: a }] });

        await expect(store.readStream(other, a)).resolves.toEqual([]);
        expect((await store.readClaims(other, [key])).size).toBe(0);
        await expect(store.getIdempotency(other, 'msg-shared', Date.now())).resolves.toBeUndefined();
        await expect(store.readAll(other, { limit: 10 })).resolves.toMatchObject({ events: [] });

        // the same ids are free in the other tenant
        const mine = {
          tenant: other,
          idempotency: { ...record, payloadHash: 'h-b' },
          streams: [append(other, a, 0, 1)],
          claims: [{ op: 'claim' as const, key, owner: 'someone-else' }],
        };
        await expect(store.commit(mine)).resolves.toEqual({ status: 'committed', versions: { [a]: 1 } });
        expect((await store.readStream(tenant, a)).map((e) => e.tenant)).toEqual([tenant, tenant]);
        expect((await store.readClaims(tenant, [key])).get(key)).toBe(a);
        await expect(store.getIdempotency(tenant, 'msg-shared', Date.now())).resolves.toMatchObject({ payloadHash: 'h-a' });
        expect(await readAllEvents(store, other, 10)).toHaveLength(1);
      });
    });

    describe('limits', () => {
      const rejectsTooLarge = async (c: Promise<CommitResult>) => {
        const error = await c.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).code).toBe('COMMIT_TOO_LARGE');
        return error as DomainError;
      };

      it('accepts exactly 100 items and refuses 101, writing nothing', async () => {
        const a = newId();
        const b = newId();
        const idem = { key: 'msg-big', payloadHash: 'h', expiresAt: Date.now() + DAY };
        await rejectsTooLarge(commit({ idempotency: idem, streams: [append(tenant, a, 0, 99)], claims: [{ op: 'claim', key: claimKey(), owner: a }] }));
        await expect(store.readStream(tenant, a)).resolves.toEqual([]);
        await expect(store.getIdempotency(tenant, 'msg-big', Date.now())).resolves.toBeUndefined();

        await expect(
          commit({ idempotency: idem, streams: [append(tenant, b, 0, 98)], claims: [{ op: 'claim', key: claimKey(), owner: b }] }),
        ).resolves.toMatchObject({
          status: 'committed',
          versions: { [b]: 98 },
        });
      });

      it('refuses an event over the item size limit, naming it by path', async () => {
        const a = newId();
        const big = append(tenant, a, 0, 2);
        const huge = { ...big, events: [big.events[0]!, { ...big.events[1]!, pii: 'x'.repeat(400_001) }] };
        const error = await rejectsTooLarge(commit({ streams: [huge] }));
        expect(error.path).toEqual(['streams', 0, 'events', 1]);
        await expect(store.readStream(tenant, a)).resolves.toEqual([]);
      });

      it('accepts a large commit that is within every limit', async () => {
        const a = newId();
        const events = append(tenant, a, 0, 60).events.map((e) => ({ ...e, pii: 'z'.repeat(60_000) }));
        await expect(commit({ streams: [{ streamId: a, expectedVersion: 0, events }] })).resolves.toEqual({ status: 'committed', versions: { [a]: 60 } });
        const single = append(tenant, a, 60, 1).events.map((e) => ({ ...e, pii: 'é'.repeat(190_000) }));
        await expect(commit({ streams: [{ streamId: a, expectedVersion: 60, events: single }] })).resolves.toMatchObject({ status: 'committed' });
      });

      it('counts UTF-8 bytes, not characters', async () => {
        const a = newId();
        const events = append(tenant, a, 0, 1).events.map((e) => ({ ...e, pii: 'é'.repeat(210_000) }));
        await rejectsTooLarge(commit({ streams: [{ streamId: a, expectedVersion: 0, events }] }));
      });

      it('refuses a commit over the total size limit', async () => {
        const a = newId();
        const events = append(tenant, a, 0, 11).events.map((e) => ({ ...e, pii: 'y'.repeat(380_000) }));
        await rejectsTooLarge(commit({ streams: [{ streamId: a, expectedVersion: 0, events }] }));
        await expect(store.readStream(tenant, a)).resolves.toEqual([]);
      });
    });

    describe('commits arriving together (one event-loop turn)', () => {
      const first = (id: string, claims: readonly string[] = [], idem?: string, hash = `h-${id}`): Commit => ({
        tenant,
        streams: [registered(tenant, id)],
        claims: claims.map((key) => ({ op: 'claim' as const, key, owner: id })),
        idempotency: idem === undefined ? undefined : { key: idem, payloadHash: hash, expiresAt: Date.now() + DAY },
      });

      it('independent commits all commit, whole, and the log holds each once', async () => {
        const ids = Array.from({ length: 45 }, () => newId());
        const commits: Commit[] = ids.map((id, i) =>
          i % 3 === 0
            ? first(id, [claimKey(), claimKey()], `msg-${id}`)
            : i % 3 === 1
              ? { tenant, claims: [], streams: [append(tenant, id, 0, 1)] }
              : { tenant, claims: [], streams: [append(tenant, id, 0, 3)] },
        );
        const fired = await fireTogether(store, commits);
        expect(fired.map(statusOf)).toEqual(commits.map(() => 'committed'));
        fired.forEach(({ commit, outcome }) =>
          expect(outcome).toEqual({ ok: true, result: { status: 'committed', versions: { [commit.streams[0]!.streamId]: commit.streams[0]!.events.length } } }),
        );
        expect(await readAllEvents(store, tenant, 1_000)).toHaveLength(commits.reduce((n, c) => n + c.streams[0]!.events.length, 0));
        await expectAllOrNothing(store, tenant, fired);
      });

      it('contended stream, claim and idempotency key: one winner each, the losers answer conflict or duplicate, nothing partial', async () => {
        const shared = newId();
        await commit({ streams: [registered(tenant, shared)] });
        const key = claimKey();
        const appenders: Commit[] = Array.from({ length: 6 }, (_, i) => ({ tenant, claims: [], streams: [append(tenant, shared, 1, 1 + (i % 2))] }));
        const claimers = Array.from({ length: 6 }, () => newId());
        const claiming = claimers.map((id) => first(id, [key, claimKey()]));
        const replays = Array.from({ length: 4 }, () => newId());
        const replaying = replays.map((id, i) => first(id, [claimKey()], 'msg-contended', `h-${i}`));
        const independent = Array.from({ length: 10 }, () => first(newId(), [claimKey()], `msg-${newId()}`));
        // interleaved, so contenders are spread through the turn
        const commits: Commit[] = [];
        for (let i = 0; i < 10; i++) for (const list of [appenders, claiming, replaying, independent]) if (list[i]) commits.push(list[i]!);
        const fired = await fireTogether(store, commits);
        const by = (list: readonly Commit[]) => fired.filter((f) => list.includes(f.commit));

        const appended = by(appenders);
        const streamWinner = appended.filter((f) => statusOf(f) === 'committed');
        expect(streamWinner).toHaveLength(1);
        const version = 1 + streamWinner[0]!.commit.streams[0]!.events.length;
        for (const f of appended)
          if (f !== streamWinner[0])
            expect(f.outcome).toEqual({ ok: true, result: { status: 'conflict', current: { streams: { [shared]: version }, claims: {} } } });
        expect((await store.readStream(tenant, shared)).map((e) => e.version)).toEqual(Array.from({ length: version }, (_, i) => i + 1));

        const claimed = by(claiming);
        const claimWinner = claimed.filter((f) => statusOf(f) === 'committed');
        expect(claimWinner).toHaveLength(1);
        const owner = claimWinner[0]!.commit.streams[0]!.streamId;
        for (const f of claimed) {
          if (f === claimWinner[0]) continue;
          const own = f.commit.streams[0]!.streamId;
          const free = f.commit.claims[1]!.key;
          expect(f.outcome).toEqual({ ok: true, result: { status: 'conflict', current: { streams: { [own]: 0 }, claims: { [key]: owner, [free]: null } } } });
        }
        expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, owner]]));

        const replayed = by(replaying);
        const idemWinner = replayed.filter((f) => statusOf(f) === 'committed');
        expect(idemWinner).toHaveLength(1);
        const hash = idemWinner[0]!.commit.idempotency!.payloadHash;
        for (const f of replayed) if (f !== idemWinner[0]) expect(f.outcome).toEqual({ ok: true, result: { status: 'duplicate', payloadHash: hash } });
        await expect(store.getIdempotency(tenant, 'msg-contended', Date.now())).resolves.toMatchObject({ payloadHash: hash });

        expect(by(independent).map(statusOf)).toEqual(independent.map(() => 'committed'));
        await expectAllOrNothing(store, tenant, fired);
      });

      it('appends to one stream at consecutive versions, fired together in version order, all commit in that order', async () => {
        const a = newId();
        const b = newId();
        const key = claimKey();
        const commits: Commit[] = [
          { tenant, claims: [{ op: 'claim', key, owner: a }], streams: [append(tenant, a, 0, 2)] },
          { tenant, claims: [], streams: [append(tenant, a, 2, 1), append(tenant, b, 0, 1)] },
          { tenant, claims: [{ op: 'transfer', key, expectedOwner: a, owner: b }], streams: [append(tenant, b, 1, 2)] },
          { tenant, claims: [], streams: [append(tenant, a, 3, 1)] },
          { tenant, claims: [{ op: 'release', key, expectedOwner: b }], streams: [append(tenant, a, 4, 1), append(tenant, b, 3, 1)] },
        ];
        const fired = await fireTogether(store, commits);
        expect(fired.map(statusOf)).toEqual(commits.map(() => 'committed'));
        expect(ids(await store.readStream(tenant, a))).toEqual(ids(commits.flatMap((c) => c.streams.filter((s) => s.streamId === a).flatMap((s) => s.events))));
        expect(ids(await store.readStream(tenant, b))).toEqual(ids(commits.flatMap((c) => c.streams.filter((s) => s.streamId === b).flatMap((s) => s.events))));
        expect((await store.readClaims(tenant, [key])).size).toBe(0);
      });

      it('a commit over the limits fails alone, writing nothing; the commits around it are unaffected', async () => {
        const ids = Array.from({ length: 6 }, () => newId());
        const big = newId();
        const tooLarge: Commit = {
          tenant,
          claims: [{ op: 'claim', key: claimKey(), owner: big }],
          idempotency: { key: `msg-${big}`, payloadHash: 'h', expiresAt: Date.now() + DAY },
          streams: [append(tenant, big, 0, 99)],
        };
        const commits = [
          ...ids.slice(0, 3).map((id) => first(id, [claimKey()], `msg-${id}`)),
          tooLarge,
          ...ids.slice(3).map((id) => first(id, [claimKey()], `msg-${id}`)),
        ];
        const fired = await fireTogether(store, commits);
        expect(fired.map(statusOf)).toEqual(['committed', 'committed', 'committed', 'rejected', 'committed', 'committed', 'committed']);
        const error = fired[3]!.outcome.ok ? undefined : fired[3]!.outcome.error;
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).code).toBe('COMMIT_TOO_LARGE');
        await expectAllOrNothing(store, tenant, fired);
      });

      it('reads asked for together each get their own answer: idempotency records (expiry per caller) and claims', async () => {
        const other = newTenant();
        const [a, b] = [newId(), newId()];
        const [k1, k2, k3] = [claimKey(), claimKey(), claimKey()];
        const now = Date.now();
        const live = { key: 'msg-live', payloadHash: 'h-live', expiresAt: now + DAY };
        const soon = { key: 'msg-soon', payloadHash: 'h-soon', expiresAt: now + 60_000 };
        const expired = { key: 'msg-expired', payloadHash: 'h-expired', expiresAt: now - 60_000 };
        await commit({
          idempotency: live,
          streams: [registered(tenant, a)],
          claims: [
            { op: 'claim', key: k1, owner: a },
            { op: 'claim', key: k2, owner: a },
          ],
        });
        await commit({ idempotency: soon, streams: [registered(tenant, b)], claims: [{ op: 'claim', key: k3, owner: b }] });
        await commit({ idempotency: expired, streams: [append(tenant, b, 1)] });
        const theirs = { ...live, payloadHash: 'h-theirs' };
        await store.commit({ tenant: other, idempotency: theirs, streams: [registered(other, a)], claims: [{ op: 'claim', key: k1, owner: 'their-owner' }] });

        const [reads, claims] = await Promise.all([
          Promise.all([
            store.getIdempotency(tenant, 'msg-live', now),
            store.getIdempotency(tenant, 'msg-soon', now),
            store.getIdempotency(tenant, 'msg-soon', soon.expiresAt),
            store.getIdempotency(tenant, 'msg-soon', soon.expiresAt - 1),
            store.getIdempotency(tenant, 'msg-expired', now),
            store.getIdempotency(tenant, 'msg-expired', expired.expiresAt - 1),
            store.getIdempotency(tenant, 'msg-unknown', now),
            store.getIdempotency(other, 'msg-live', now),
            store.getIdempotency(tenant, 'msg-live', now),
          ]),
          Promise.all([
            store.readClaims(tenant, [k1, k2, k3]),
            store.readClaims(tenant, [k3, claimKey(), k3]),
            store.readClaims(tenant, []),
            store.readClaims(other, [k1, k2]),
            store.readClaims(tenant, [claimKey()]),
            store.readClaims(tenant, [k2]),
          ]),
        ]);
        expect(reads).toEqual([live, soon, undefined, soon, undefined, expired, undefined, theirs, live]);
        expect(claims).toEqual([
          new Map([
            [k1, a],
            [k2, a],
            [k3, b],
          ]),
          new Map([[k3, b]]),
          new Map(),
          new Map([[k1, 'their-owner']]),
          new Map(),
          new Map([[k2, a]]),
        ]);
      });
    });
  });
};
