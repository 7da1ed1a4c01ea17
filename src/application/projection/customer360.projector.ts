import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { fold, initialState } from '../../domain/customer/customer.state.js';
import { emptyView, evolveView, foldCluster } from '../../domain/projection/customer360.js';
import type { EventCodec } from '../event-codec.js';
import type { EventStore, StoredEvent } from '../ports/event-store.port.js';
import type { DataKey, KeyStore } from '../ports/keys.port.js';
import type { ViewDoc } from '../ports/read-model.port.js';
import type { Metrics } from '../ports/runtime.port.js';

// Keeps Customer360 docs up to date from committed events delivered at least once, in any order
// across streams (DynamoDB Streams orders only per item). Per member stream the doc remembers the
// last applied version: duplicates are skipped, gaps re-read from the log. Merges and unmerges
// change which events a view folds, so the affected clusters are folded again from the log; the
// view fold is order-independent, which makes that equal to any other delivery order.

export interface ViewDocs {
  get(tenant: string, id: string): Promise<ViewDoc | undefined>;
  put(tenant: string, doc: ViewDoc): Promise<boolean>;
}

const RECOMPUTE_ON: ReadonlySet<string> = new Set(['CustomerMerged', 'CustomerUnmerged', 'CustomerRestored']);
const MAX_DEPTH = 32;

export class Customer360Projector {
  constructor(
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    private readonly codec: EventCodec,
    private readonly metrics: Metrics,
  ) {}

  async apply(tenant: string, events: readonly RecordedEvent[], docs: ViewDocs, keyCache = new Map<string, DataKey | null>()): Promise<void> {
    for (const r of events) await this.applyOne(tenant, r, docs, keyCache);
  }

  private async applyOne(tenant: string, r: RecordedEvent, docs: ViewDocs, keyCache: Map<string, DataKey | null>): Promise<void> {
    const e = r.event;
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
      await docs.put(tenant, { kind: 'pointer', customerId: r.streamId, version: r.version, applied: { [r.streamId]: r.version }, mergedInto: e.data.survivorId });
      return;
    }
    const rootId = await this.rootOf(tenant, r.streamId, docs);
    const found = await docs.get(tenant, rootId);
    const doc: Extract<ViewDoc, { kind: 'view' }> =
      found?.kind === 'view' ? found : { kind: 'view', customerId: rootId, version: 0, applied: {}, view: emptyView(rootId) };
    const last = doc.applied[r.streamId] ?? 0;
    if (r.version <= last) return this.skip();
    if (r.version > last + 1) {
      // a gap: something before this event has not arrived yet, so take the stream from the log
      this.metrics.increment('projection_gap_reread');
      const missing = await this.decodeStream(tenant, r.streamId, last, keyCache);
      if (missing.some((m) => RECOMPUTE_ON.has(m.event.type) || m.event.type === 'CustomerMergedInto')) {
        await this.recompute(tenant, rootId, docs, keyCache);
        return;
      }
      await docs.put(tenant, missing.reduce((d, m) => this.fold(d, m, rootId), doc));
      return;
    }
    await docs.put(tenant, this.fold(doc, r, rootId));
  }

  private fold(doc: Extract<ViewDoc, { kind: 'view' }>, r: RecordedEvent, rootId: string): Extract<ViewDoc, { kind: 'view' }> {
    return {
      kind: 'view',
      customerId: doc.customerId,
      version: r.streamId === rootId ? Math.max(doc.version, r.version) : doc.version,
      applied: { ...doc.applied, [r.streamId]: r.version },
      view: evolveView(doc.view, r),
    };
  }

  private skip(): void {
    this.metrics.increment('projection_duplicate_skipped');
  }

  private async rootOf(tenant: string, id: string, docs: ViewDocs): Promise<string> {
    let current = id;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const doc = await docs.get(tenant, current);
      if (doc?.kind !== 'pointer') return current;
      current = doc.mergedInto;
    }
    throw new Error(`pointer chain from ${id} is longer than ${MAX_DEPTH}`);
  }

  /** Folds a whole cluster again from the log and re-points its members. */
  async recompute(tenant: string, id: string, docs: ViewDocs, keyCache = new Map<string, DataKey | null>()): Promise<void> {
    let rootId = id;
    let stored = await this.store.readStream(tenant, rootId);
    let state = fold(rootId, stored.map((s) => this.codec.decode(s, null)), initialState(rootId));
    for (let depth = 0; state.status === 'merged'; depth++) {
      if (depth >= MAX_DEPTH) throw new Error(`pointer chain from ${id} is longer than ${MAX_DEPTH}`);
      await docs.put(tenant, { kind: 'pointer', customerId: rootId, version: state.version, applied: { [rootId]: state.version }, mergedInto: state.mergedInto! });
      rootId = state.mergedInto!;
      stored = await this.store.readStream(tenant, rootId);
      state = fold(rootId, stored.map((s) => this.codec.decode(s, null)), initialState(rootId));
    }
    if (state.status === 'initial') return;
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

  private async decodeStream(tenant: string, id: string, after: number, keyCache: Map<string, DataKey | null>): Promise<RecordedEvent[]> {
    return this.decodeAll(tenant, await this.store.readStream(tenant, id, after), keyCache);
  }

  private async decodeAll(tenant: string, stored: readonly StoredEvent[], keyCache: Map<string, DataKey | null>): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for (const s of stored) out.push(this.codec.decode(s, s.pii === undefined ? null : await this.keyOf(tenant, s.streamId, keyCache)));
    return out;
  }

  async keyOf(tenant: string, id: string, cache: Map<string, DataKey | null>): Promise<DataKey | null> {
    let key = cache.get(id);
    if (key === undefined) {
      key = await this.keys.get(tenant, id);
      cache.set(id, key);
    }
    return key;
  }
}
