import { KeyedLock } from '../../application/keyed-lock.js';
import { randomUUID } from 'node:crypto';
import { type EventStoreDBClient, StreamDeletedError, WrongExpectedVersionError, type AppendExpectedRevision } from '@eventstore/db-client';
import type { Commit, CommitResult, EventStore, IdempotencyRecord, ReadAllPage, StoredEvent } from '../../application/ports/event-store.port.js';
import { checkCommitLimits, checkCommitShape, claimHolds } from '../../application/ports/commit-checks.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import { CommitRecords } from './eventstoredb.commit-records.js';
import { clientDeadlineMs, type Deadline, deadlineIn, request } from './eventstoredb.deadline.js';
import { readAllPage } from './eventstoredb.read-all.js';
import { StateReader, claimOwner, customerEvents, idempotencyRecord, type Loaded } from './eventstoredb.state.js';
import { chunk, deterministicUuid, expectedAfter, streamNames, toEventData, type Proposed } from './eventstoredb.streams.js';
import { rethrowUnavailable } from './eventstoredb.unavailable.js';

/*
 * EventStoreDB has no multi-stream transaction, so a commit is made atomic for readers this way:
 *
 * 1. Read the current state of every stream the commit touches: customer streams
 *    (c360-<tenant>-customer-<id>), claim streams (c360-<tenant>-claim-<key>) and the idempotency
 *    stream (c360-<tenant>-idem-<key>). Undecided commits found there are settled first (waited for,
 *    or aborted once older than pendingTimeoutMs). A duplicate or a conflict returns here, unwritten.
 * 2. A commit that is ONE append of at most one server batch is a plain conditional append: atomic
 *    on the server, no record needed (the fast path: one customer stream, no claim, no idempotency).
 * 3. Otherwise: append CommitStarted to c360-<tenant>-commit-<id> (naming every write), then each
 *    write with exact expected revisions and deterministic event ids, each event tagged with the
 *    commit id, then CommitCompleted with expected revision 0. A wrong expected version on any
 *    write aborts the commit (CommitAborted, same CAS) and the whole commit is retried from 1.
 * 4. Readers show a tagged event only when its commit record says CommitCompleted.
 *
 * Guarantees: readers never see part of a commit, including after a crash at any step (a crashed
 * commit stays undecided, hidden, and is aborted by the next writer or rebuild that needs its
 * streams after pendingTimeoutMs; the decision is a single CAS, so a slow writer cannot complete a
 * commit someone aborted). Claims and idempotency keys are never tombstoned: releases are events.
 * Not guaranteed: a snapshot across streams (readStream of two streams may straddle a completion),
 * and server revisions are not customer versions (aborted events keep their revisions, hidden).
 * Hidden events of aborted commits stay in the streams until a scavenge-style cleanup, not built.
 */

const MAX_ATTEMPTS = 25;

type Write = { readonly stream: string; readonly expected: AppendExpectedRevision; readonly events: readonly Proposed[] };
type Seen = { readonly idem: Loaded | undefined; readonly streams: readonly Loaded[]; readonly claims: readonly Loaded[] };

export type EventStoreDbOptions = {
  readonly pendingTimeoutMs?: number;
  readonly clock?: Clock;
  /**
   * The longest a store call may take, every request it makes to the server and its wait for the
   * commit order included; past it the call fails with StoreUnavailable (eventstoredb.deadline.ts).
   * Default: the client's `defaultDeadline` (its connection string's, 10 s unless it says).
   */
  readonly deadlineMs?: number;
};

export class EventStoreDbEventStore implements EventStore {
  private readonly order = new KeyedLock();
  private readonly commits: CommitRecords;
  private readonly state: StateReader;
  private readonly clock: Clock;
  private readonly deadlineMs: number;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EventStoreDbOptions = {},
  ) {
    this.commits = new CommitRecords(client, options.pendingTimeoutMs ?? 5_000);
    this.state = new StateReader(client, this.commits);
    this.clock = options.clock ?? { now: Date.now };
    this.deadlineMs = options.deadlineMs ?? clientDeadlineMs(client);
  }

  private deadline(): Deadline {
    return deadlineIn(this.deadlineMs);
  }

  /**
   * Commits touching a common stream, claim or idempotency key run one after another, in the order
   * they arrived: a group fired together behaves like its members committed one by one in that
   * order (EventStoreDB gains nothing from grouping them into one write).
   */
  /** its idempotency record is a stream of its own, written by the commit protocol for one key per commit */
  readonly alsoRecords = false;

  async commit(commit: Commit): Promise<CommitResult> {
    checkCommitLimits(commit);
    checkCommitShape(commit);
    if (commit.alsoRecorded?.length) throw new Error('the EventStoreDB store records one idempotency key per commit (alsoRecorded is not supported)');
    const t = commit.tenant;
    const keys = [
      ...commit.streams.map((s) => `${t}\u0000s\u0000${s.streamId}`),
      ...commit.claims.map((c) => `${t}\u0000c\u0000${c.key}`),
      ...(commit.idempotency ? [`${t}\u0000i\u0000${commit.idempotency.key}`] : []),
    ];
    // the deadline runs from here, the wait behind earlier commits included: those started
    // earlier, so their deadlines pass first, and a commit whose turn comes after its own deadline
    // fails without asking the server
    const d = this.deadline();
    return this.order.run(keys, () => this.commitNow(commit, d)).catch(rethrowUnavailable);
  }

  private async commitNow(commit: Commit, d: Deadline): Promise<CommitResult> {
    const names = streamNames(commit.tenant);
    for (let attempt = 1; ; attempt++) {
      const idemKey = commit.idempotency?.key;
      const [idem, streams, claims] = await Promise.all([
        idemKey === undefined ? undefined : this.state.load(commit.tenant, names.idempotency(idemKey), true, d),
        Promise.all(commit.streams.map((s) => this.state.load(commit.tenant, names.customer(s.streamId), true, d))),
        Promise.all(commit.claims.map((c) => this.state.load(commit.tenant, names.claim(c.key), true, d))),
      ]);
      const seen: Seen = { idem, streams, claims };
      const recorded = idem && idempotencyRecord(idem);
      if (recorded && recorded.expiresAt > this.clock.now()) return { status: 'duplicate', payloadHash: recorded.payloadHash };
      const holds =
        commit.streams.every((s, i) => streams[i]!.visible.length === s.expectedVersion) &&
        commit.claims.every((c, i) => claimHolds(c, claimOwner(claims[i]!)));
      // past the bound the caller gets the current state and decides (only use cases retry)
      if (!holds || attempt > MAX_ATTEMPTS) return conflict(commit, seen);
      if (await this.write(commit.tenant, plan(commit, seen), d)) {
        return { status: 'committed', versions: Object.fromEntries(commit.streams.map((s) => [s.streamId, s.expectedVersion + s.events.length])) };
      }
    }
  }

  // Like commit, every method below says a server it cannot reach as StoreUnavailable (eventstoredb.unavailable.ts),
  // and one that does not answer as StoreUnavailable at the call's deadline (eventstoredb.deadline.ts).

  async readStream(tenant: string, streamId: string, afterVersion = 0): Promise<readonly StoredEvent[]> {
    const loaded = await this.state.load(tenant, streamNames(tenant).customer(streamId), false, this.deadline()).catch(rethrowUnavailable);
    return customerEvents(loaded).filter((e) => e.tenant === tenant && e.version > afterVersion);
  }

  async readClaims(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const d = this.deadline();
    const owners = await Promise.all(keys.map(async (k) => claimOwner(await this.state.load(tenant, streamNames(tenant).claim(k), false, d)))).catch(
      rethrowUnavailable,
    );
    const found = new Map<string, string>();
    keys.forEach((k, i) => owners[i] !== undefined && found.set(k, owners[i]!));
    return found;
  }

  readAll(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }): Promise<ReadAllPage> {
    return readAllPage(this.client, this.state, tenant, options, () => this.deadline()).catch(rethrowUnavailable);
  }

  async getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    const record = idempotencyRecord(await this.state.load(tenant, streamNames(tenant).idempotency(key), false, this.deadline()).catch(rethrowUnavailable));
    return record && record.expiresAt > now ? record : undefined;
  }

  /**
   * Erasure: hard-deletes the customers' streams, so later commits to them fail (StreamDeletedError)
   * and reads find nothing. Claims are released by commits, and idempotency records are kept so an
   * old message replayed cannot resurrect the customer. Idempotent, for erasure retries.
   */
  async tombstoneCustomers(tenant: string, streamIds: readonly string[]): Promise<void> {
    const names = streamNames(tenant);
    const d = this.deadline();
    await Promise.all(
      streamIds.map((id) =>
        request(this.client, d, (deadline) => this.client.tombstoneStream(names.customer(id), { deadline })).catch((error: unknown) => {
          if (!(error instanceof StreamDeletedError)) throw error;
        }),
      ),
    ).catch(rethrowUnavailable);
  }

  /** true when every write landed and the commit is decided committed; false to retry */
  private async write(tenant: string, writes: readonly Write[], d: Deadline): Promise<boolean> {
    if (writes.length === 0) return true;
    const batches = writes.map((w) => chunk(w.events));
    if (writes.length === 1 && batches[0]!.length === 1) return this.append(writes[0]!.stream, writes[0]!.expected, writes[0]!.events, d);

    const id = randomUUID();
    await this.commits.start(
      tenant,
      id,
      writes.map((w, i) => ({ stream: w.stream, after: String(w.expected), count: w.events.length, batches: batches[i]!.length })),
      d,
    );
    try {
      for (let i = 0; i < writes.length; i++) {
        let expected = writes[i]!.expected;
        let n = 0;
        for (const batch of batches[i]!) {
          const tagged = batch.map((e) => ({ ...e, id: deterministicUuid(`${id}/${writes[i]!.stream}/${n++}`), meta: { commit: id } }));
          if (!(await this.append(writes[i]!.stream, expected, tagged, d))) {
            await this.commits.decide(tenant, id, 'aborted', d);
            return false;
          }
          expected = (expected === 'no_stream' ? -1n : (expected as bigint)) + BigInt(batch.length);
        }
      }
    } catch (error) {
      // leave nothing undecided that a live process can decide now (within the call's deadline:
      // past it, the next writer that needs these streams aborts it after pendingTimeoutMs)
      await this.commits.decide(tenant, id, 'aborted', d).catch(() => undefined);
      throw error;
    }
    return (await this.commits.decide(tenant, id, 'committed', d)) === 'committed';
  }

  private async append(stream: string, expected: AppendExpectedRevision, events: readonly Proposed[], d: Deadline): Promise<boolean> {
    try {
      await request(this.client, d, (deadline) => this.client.appendToStream(stream, events.map(toEventData), { expectedRevision: expected, deadline }));
      return true;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }
}

/** The writes, in stream-name order so concurrent commits contend on the same stream first. */
const plan = (commit: Commit, seen: Seen): Write[] => {
  const names = streamNames(commit.tenant);
  const nonce = randomUUID();
  const writes: Write[] = commit.streams
    .filter((s) => s.events.length > 0)
    .map((s) => ({
      stream: names.customer(s.streamId),
      expected: expectedAfter(seen.streams[commit.streams.indexOf(s)]!.last),
      // a retry of the same event at the same version is recognised by the server as the same write
      events: s.events.map((e) => ({
        id: deterministicUuid(`${names.customer(s.streamId)}/${e.version}/${e.eventId}`),
        type: e.type,
        data: storable(e),
        meta: {},
      })),
    }));
  commit.claims.forEach((c, i) => {
    const loaded = seen.claims[i]!;
    if (c.op === 'release' && claimOwner(loaded) === undefined) return; // releasing a free key changes nothing
    const data = c.op === 'release' ? {} : { owner: c.owner };
    const type = c.op === 'claim' ? 'ClaimTaken' : c.op === 'release' ? 'ClaimReleased' : 'ClaimTransferred';
    writes.push({
      stream: names.claim(c.key),
      expected: expectedAfter(loaded.last),
      events: [{ id: deterministicUuid(`${nonce}/claim/${i}`), type, data, meta: {} }],
    });
  });
  const idem = commit.idempotency;
  if (idem) {
    const event = { id: deterministicUuid(`${nonce}/idem`), type: 'IdempotencyRecorded', data: { ...idem }, meta: {} };
    writes.push({ stream: names.idempotency(idem.key), expected: expectedAfter(seen.idem!.last), events: [event] });
  }
  return writes.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
};

/** the stored form: plain JSON without the store-assigned position */
const storable = (e: StoredEvent): Record<string, unknown> => {
  const { position: _, ...rest } = e;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
};

const conflict = (commit: Commit, seen: Seen): CommitResult => ({
  status: 'conflict',
  current: {
    streams: Object.fromEntries(commit.streams.map((s, i) => [s.streamId, seen.streams[i]!.visible.length])),
    claims: Object.fromEntries(commit.claims.map((c, i) => [c.key, claimOwner(seen.claims[i]!) ?? null])),
  },
});
