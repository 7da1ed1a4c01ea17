import type { CustomerEvent, EventOf, RecordedEvent } from '../../domain/customer/customer.events.js';
import { foldInPlace, initialState } from '../../domain/customer/customer.state.js';
import { emptyView, evolveView, foldCluster, mergeViews, setOwn, VIEW_READS_PII } from '../../domain/projection/customer360.js';
import { copyIdRecord } from '../../domain/shared/id-record.js';
import { isTombstone, type EventCodec } from '../event-codec.js';
import type { EventStore, StoredEvent } from '../ports/event-store.port.js';
import type { DataKey, KeyStore } from '../ports/keys.port.js';
import { stampOf, type DocStamp, type ViewDoc } from '../ports/read-model.port.js';
import type { Metrics } from '../ports/runtime.port.js';

// Keeps Customer360 docs up to date from committed events delivered at least once, in any order
// across streams (DynamoDB Streams orders only per item). Per member stream the doc remembers the
// last applied version: duplicates are skipped, gaps re-read from the log. Merges and unmerges
// change which events a view folds, so the affected clusters are folded again from the log; the
// view fold is order-independent, which makes that equal to any other delivery order.

export interface ViewDocs {
  get(tenant: string, id: string): Promise<ViewDoc | undefined>;
  put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean>;
  /** needed once a tenant erases customers: their docs go, they are never rewritten */
  delete?(tenant: string, id: string): Promise<void>;
  /** true for an id whose doc these docs deleted (a rebuild's generation remembers them): its cluster was erased */
  deletedHere?(id: string): boolean;
}

type MergeData = EventOf<'CustomerMerged'>['data'];

/** Whether the view reads this event's personal fields: only then is it decrypted. */
export const readsPii = (s: StoredEvent): boolean => s.pii !== undefined && VIEW_READS_PII.has(s.type as RecordedEvent['event']['type']);

const RECOMPUTE_ON: ReadonlySet<string> = new Set(['CustomerMerged', 'CustomerUnmerged', 'CustomerRestored']);
const MAX_DEPTH = 32;
const MAX_ATTEMPTS = 8;

export class Customer360Projector {
  constructor(
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    private readonly codec: EventCodec,
    private readonly metrics: Metrics,
  ) {}

  async apply(tenant: string, events: readonly RecordedEvent[], docs: ViewDocs, keyCache = new Map<string, DataKey | null>()): Promise<void> {
    // one read and one write per doc a batch touches, however many of its events land there; the
    // writes are compare-and-swap, and a batch that lost a race is folded again from fresh docs
    for (let attempt = 1; ; attempt++) {
      const batch = new BatchedDocs(docs);
      for (const r of events) await this.applyOne(tenant, r, batch, keyCache);
      if (await batch.flush(tenant)) return;
      this.metrics.increment('projection_conflict_retry');
      if (attempt >= MAX_ATTEMPTS) throw new Error(`projection of ${events.length} events kept losing races on ${tenant}; deliver them again`);
    }
  }

  private async applyOne(tenant: string, r: RecordedEvent, docs: ViewDocs, keyCache: Map<string, DataKey | null>): Promise<void> {
    const e = r.event;
    // the tombstone: the stream's own doc (its view, or its pointer when absorbed) goes
    if (e.type === 'CustomerErased') return docs.delete!(tenant, r.streamId);
    if (e.type === 'CustomerMerged' && (await this.joinMerge(tenant, r, e.data, docs))) return;
    if (RECOMPUTE_ON.has(e.type)) {
      const own = await docs.get(tenant, r.streamId);
      if (own && (own.applied[r.streamId] ?? 0) >= r.version) return this.skip();
      await this.recompute(tenant, r.streamId, docs, keyCache);
      if (e.type === 'CustomerUnmerged') await this.recompute(tenant, e.data.absorbedId, docs, keyCache);
      return;
    }
    if (e.type === 'CustomerMergedInto') {
      // the survivor's CustomerMerged (same commit) folds this customer in; here only the pointer
      const own = await docs.get(tenant, r.streamId);
      if (own && (own.applied[r.streamId] ?? 0) >= r.version) return this.skip();
      // a late delivery of a merge undone since (the stream went on): a pointer now would be stale
      if ((await this.store.readStream(tenant, r.streamId, r.version)).length > 0) return this.recompute(tenant, r.streamId, docs, keyCache);
      // no doc and no live key: perhaps an erased cluster, which gets no pointer either (see below)
      if (!own && (await this.keyOf(tenant, r.streamId, keyCache)) === null && (await this.forgetIfErased(tenant, r.streamId, docs, keyCache))) return;
      await docs.put(tenant, {
        kind: 'pointer',
        customerId: r.streamId,
        version: r.version,
        applied: { [r.streamId]: r.version },
        mergedInto: e.data.survivorId,
      });
      return;
    }
    let rootId = r.streamId;
    let found = await docs.get(tenant, rootId);
    for (let depth = 0; found?.kind === 'pointer'; depth++) {
      if (depth >= MAX_DEPTH) throw new Error(`pointer chain from ${r.streamId} is longer than ${MAX_DEPTH}`);
      rootId = found.mergedInto;
      found = await docs.get(tenant, rootId);
    }
    // No doc: a customer seen for the first time, or one that was erased (its tombstone deleted
    // the doc, or has not been delivered yet). Only a customer without a live key can be erased: a
    // new customer's key exists before its first commit (and is cached: the batch or the key store
    // has it), an erased one's is destroyed. For those the log is read, and an erased cluster gets
    // no doc. Without this, an erased customer's events delivered after its tombstone, or before
    // it in another batch (the Streams projection of a log that `c360 migrate` copies, a
    // redelivery), made its view again.
    if (found === undefined && (await this.keyOf(tenant, rootId, keyCache)) === null) {
      // the rest of an erased cluster's events: the log was read once for them all
      if (docs instanceof BatchedDocs && docs.deletedHere(rootId)) return;
      if (await this.forgetIfErased(tenant, rootId, docs, keyCache)) return;
    }
    const doc: Extract<ViewDoc, { kind: 'view' }> =
      found?.kind === 'view' ? found : { kind: 'view', customerId: rootId, version: 0, applied: {}, view: emptyView(rootId) };
    const last = doc.applied[r.streamId] ?? 0;
    if (r.version <= last) return this.skip();
    if (r.version > last + 1) {
      // a gap: something before this event has not arrived yet, so take the stream from the log
      this.metrics.increment('projection_gap_reread');
      const missing = await this.decodeStream(tenant, r.streamId, last, keyCache);
      if (missing.some((m) => RECOMPUTE_ON.has(m.event.type) || m.event.type === 'CustomerMergedInto' || m.event.type === 'CustomerErased')) {
        await this.recompute(tenant, rootId, docs, keyCache);
        return;
      }
      await docs.put(
        tenant,
        missing.reduce((d, m) => this.fold(d, m, rootId), doc),
      );
      return;
    }
    await docs.put(tenant, this.fold(doc, r, rootId));
  }

  /**
   * A merge joins the two views when both are complete up to the merge; otherwise (late or missing
   * deliveries) the cluster is folded again from the log. Returns false when it did nothing.
   */
  private async joinMerge(tenant: string, r: RecordedEvent, merge: MergeData, docs: ViewDocs): Promise<boolean> {
    const own = await docs.get(tenant, r.streamId);
    if (own?.kind !== 'view' || own.applied[r.streamId] !== r.version - 1) return false;
    const absorbed = await docs.get(tenant, merge.absorbedId);
    if (absorbed?.kind !== 'view' || absorbed.applied[merge.absorbedId] !== merge.absorbedVersion) return false;
    if (merge.absorbedMembers.some((m) => absorbed.applied[m] === undefined)) return false;
    await docs.put(tenant, {
      kind: 'view',
      customerId: r.streamId,
      version: r.version,
      // the absorbed stream's next and last event is its CustomerMergedInto (same commit)
      applied: { ...own.applied, ...absorbed.applied, [merge.absorbedId]: merge.absorbedVersion + 1, [r.streamId]: r.version },
      view: mergeViews(own.view, absorbed.view),
    });
    const pointer = (id: string, version: number): ViewDoc => ({
      kind: 'pointer',
      customerId: id,
      version,
      applied: { [id]: version },
      mergedInto: r.streamId,
    });
    await docs.put(tenant, pointer(merge.absorbedId, merge.absorbedVersion + 1));
    for (const m of merge.absorbedMembers) await docs.put(tenant, pointer(m, absorbed.applied[m]!));
    return true;
  }

  private fold(doc: Extract<ViewDoc, { kind: 'view' }>, r: RecordedEvent, rootId: string): Extract<ViewDoc, { kind: 'view' }> {
    // `{ ...doc.applied, [r.streamId]: r.version }`, keyed by customer ids: copyIdRecord says why not a spread
    const applied = copyIdRecord(doc.applied);
    setOwn(applied, r.streamId, r.version);
    return {
      kind: 'view',
      customerId: doc.customerId,
      version: r.streamId === rootId ? Math.max(doc.version, r.version) : doc.version,
      applied,
      view: evolveView(doc.view, r),
    };
  }

  private skip(): void {
    this.metrics.increment('projection_duplicate_skipped');
  }

  /** Counts events skipped elsewhere exactly as applyOne would have skipped them (a rebuild's generation). */
  countSkipped(n: number): void {
    if (n > 0) this.metrics.increment('projection_duplicate_skipped', n);
  }

  /** Folds a whole cluster again from the log and re-points its members. */
  async recompute(tenant: string, id: string, docs: ViewDocs, keyCache = new Map<string, DataKey | null>()): Promise<void> {
    let rootId = id;
    let stored = await this.store.readStream(tenant, rootId);
    let state = foldInPlace(
      rootId,
      stored.map((s) => this.codec.decode(s, null)),
      initialState(rootId),
    );
    if (state.status === 'erased') return this.forget(tenant, rootId, docs);
    // an absorbed customer of an erased cluster gets no pointer either
    if (state.status === 'merged' && (await this.shredded(tenant, rootId, stored, keyCache))) return this.forget(tenant, rootId, docs);
    for (let depth = 0; state.status === 'merged'; depth++) {
      if (depth >= MAX_DEPTH) throw new Error(`pointer chain from ${id} is longer than ${MAX_DEPTH}`);
      await docs.put(tenant, {
        kind: 'pointer',
        customerId: rootId,
        version: state.version,
        applied: { [rootId]: state.version },
        mergedInto: state.mergedInto!,
      });
      rootId = state.mergedInto!;
      stored = await this.store.readStream(tenant, rootId);
      state = foldInPlace(
        rootId,
        stored.map((s) => this.codec.decode(s, null)),
        initialState(rootId),
      );
    }
    if (state.status === 'erased') return this.forget(tenant, rootId, docs, state.members);
    if (state.status === 'initial') return;
    if (await this.shredded(tenant, rootId, stored, keyCache)) return this.forget(tenant, rootId, docs, state.members);
    const applied: Record<string, number> = { [rootId]: state.version };
    const events: RecordedEvent[] = await this.decodeAll(tenant, stored, keyCache);
    for (const member of state.members) {
      const memberEvents = await this.decodeStream(tenant, member, 0, keyCache);
      const version = memberEvents.at(-1)?.version ?? 0;
      applied[member] = version;
      events.push(...memberEvents);
      await docs.put(tenant, { kind: 'pointer', customerId: member, version, applied: { [member]: version }, mergedInto: rootId });
    }
    await docs.put(tenant, { kind: 'view', customerId: rootId, version: state.version, applied, view: foldCluster(rootId, state.members, events) });
  }

  /**
   * Whether the stream holds personal data its key no longer opens: its cluster was erased (the keys
   * are destroyed after the tombstone commits), even where the log does not show the tombstone yet
   * (a log that `c360 migrate` is still copying: keys and their tombstones go first, the events after).
   */
  private async shredded(tenant: string, id: string, stored: readonly StoredEvent[], keyCache: Map<string, DataKey | null>): Promise<boolean> {
    return stored.some((s) => s.pii !== undefined) && (await this.keyOf(tenant, id, keyCache)) === null;
  }

  /** Deletes the docs of the customer's cluster when the log (its tombstone) or its shredded data says it was erased. */
  private async forgetIfErased(tenant: string, id: string, docs: ViewDocs, keyCache: Map<string, DataKey | null>): Promise<boolean> {
    const stored = await this.store.readStream(tenant, id);
    if (!stored.some(isTombstone) && !(await this.shredded(tenant, id, stored, keyCache))) return false;
    // its members' docs go too (the fold only for them: a stream that is not erased is not decoded here)
    const state = foldInPlace(
      id,
      stored.map((s) => this.codec.decode(s, null)),
      initialState(id),
    );
    await this.forget(tenant, id, docs, state.members);
    return true;
  }

  /** An erased cluster has no docs: late or repeated deliveries of its events land here. */
  private async forget(tenant: string, rootId: string, docs: ViewDocs, members: readonly string[] = []): Promise<void> {
    for (const id of [rootId, ...members]) await docs.delete!(tenant, id);
  }

  private async decodeStream(tenant: string, id: string, after: number, keyCache: Map<string, DataKey | null>): Promise<RecordedEvent[]> {
    return this.decodeAll(tenant, await this.store.readStream(tenant, id, after), keyCache);
  }

  /** Decodes for the view: personal fields are decrypted only where the view reads them. */
  async decodeAll(tenant: string, stored: readonly StoredEvent[], keyCache: Map<string, DataKey | null>): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for (const s of stored) out.push(this.codec.decode(s, readsPii(s) ? await this.keyOf(tenant, s.streamId, keyCache) : null));
    return out;
  }

  /** The event alone as decodeAll decodes it, given its customer's key when readsPii(s), else null. */
  decodeEventForView(s: StoredEvent, key: DataKey | null): CustomerEvent {
    return this.codec.decodeEvent(s, key);
  }

  /** Data keys by tenant and customer: a cache shared across tenants must never cross them. */
  async keyOf(tenant: string, id: string, cache: Map<string, DataKey | null>): Promise<DataKey | null> {
    const cacheKey = `${tenant}\u0000${id}`;
    let key = cache.get(cacheKey);
    if (key === undefined) {
      key = await this.keys.get(tenant, id);
      cache.set(cacheKey, key);
    }
    return key;
  }
}

class BatchedDocs implements ViewDocs {
  private readonly local = new Map<string, ViewDoc | undefined>();
  /** what the store held when this batch first read a doc: the compare-and-swap expectation */
  private readonly origin = new Map<string, DocStamp | null>();
  private readonly dirty = new Set<string>();
  /** ids whose docs this batch deleted: erased customers (a tombstone, or the log read after one) */
  private readonly erased = new Set<string>();

  constructor(private readonly docs: ViewDocs) {}

  deletedHere(id: string): boolean {
    return this.erased.has(id) || this.docs.deletedHere?.(id) === true;
  }

  async get(tenant: string, id: string): Promise<ViewDoc | undefined> {
    if (this.local.has(id)) return this.local.get(id);
    const doc = await this.docs.get(tenant, id);
    this.local.set(id, doc);
    this.origin.set(id, doc ? stampOf(doc) : null);
    return doc;
  }

  async put(_tenant: string, doc: ViewDoc): Promise<boolean> {
    this.local.set(doc.customerId, doc);
    this.dirty.add(doc.customerId);
    return true;
  }

  async delete(_tenant: string, id: string): Promise<void> {
    if (!this.docs.delete) throw new Error(`these read models cannot delete docs, so erased customer ${id} cannot be projected`);
    this.local.set(id, undefined);
    this.dirty.add(id);
    this.erased.add(id);
  }

  /** false when another writer changed a doc this batch had read: the batch must run again */
  async flush(tenant: string): Promise<boolean> {
    // views first, pointers after, and no pointer once a view's compare-and-swap failed: the batch
    // runs again from fresh docs, so a pointer never lands without the view it points to. Within
    // each step the writes go at once, so a store that groups the writes of a turn (DynamoDB: one
    // TransactWriteItems per 100 docs) sends them together; each keeps its own condition.
    const ids = [...this.dirty];
    this.dirty.clear();
    const views: string[] = [];
    const pointers: string[] = [];
    for (const id of ids) (this.local.get(id)?.kind === 'pointer' ? pointers : views).push(id);
    const write = async (step: readonly string[]): Promise<boolean> => {
      const held = await Promise.all(
        step.map(async (id) => {
          const doc = this.local.get(id);
          // erased: deletes are unconditional, a tombstone outranks whatever was written meanwhile
          if (doc === undefined) {
            await this.docs.delete!(tenant, id);
            return true;
          }
          // a doc written without being read (re-pointing members) may lose to a newer one: that is fine
          return (await this.docs.put(tenant, doc, this.origin.get(id))) || !this.origin.has(id);
        }),
      );
      return held.every(Boolean);
    };
    return (await write(views)) && write(pointers);
  }
}
