import type { CustomerEvent, RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CorePorts } from '../deps.js';
import { recordedEvent } from '../event-codec.js';
import type { EventStore } from '../ports/event-store.port.js';
import type { DataKey } from '../ports/keys.port.js';
import type { ReadModelStore, ViewDoc } from '../ports/read-model.port.js';
import type { Clock } from '../ports/runtime.port.js';
import { readsPii, type Customer360Projector, type ViewDocs } from './customer360.projector.js';
import { Generation, GENERATION_TYPES } from './rebuild.generation.js';

// Rebuild: replay the tenant's whole log through the same projector into a fresh generation, then
// switch over at once. Rebuilds fold stored resolution outcomes; they never re-run resolution.
// Activity and merges skip the projector's doc per event (see rebuild.generation.ts): same docs, faster.

export type RebuildProgress = { readonly events: number; readonly docs: number; readonly elapsedMs: number; readonly done: boolean };

/** A generation being built: plain maps, swapped into the store when complete. */
export class ScratchDocs implements ViewDocs {
  readonly docs = new Map<string, ViewDoc>();
  async get(_tenant: string, id: string) {
    return this.docs.get(id);
  }
  async put(_tenant: string, doc: ViewDoc) {
    this.docs.set(doc.customerId, doc);
    return true;
  }
  /** an erased customer's docs: a rebuild produces no view for erased streams */
  async delete(_tenant: string, id: string) {
    this.docs.delete(id);
  }
}

export type AfterViews = (tenant: string) => {
  readonly see: (streamId: string, event: CustomerEvent) => void;
  /** `views`: the view docs the rebuild wrote; `through`: the last log position its pass read */
  readonly finish: (views: Iterable<ViewDoc>, through: string | undefined) => Promise<unknown>;
};

export class RebuildProjections {
  constructor(
    private readonly store: EventStore,
    private readonly readModels: ReadModelStore,
    private readonly projector: Customer360Projector,
    private readonly clock: Clock,
    private readonly pageSize = 1_000,
    /** where rebuilds are recorded (admin.rebuild); without it they are not audited */
    private readonly audit?: Pick<CorePorts, 'audit' | 'ids'> | undefined,
    /**
     * read models built from the views, rebuilt once the views are (the match book): `start` is
     * handed every event of the rebuild's pass over the log, in log order, so that they need not
     * read the log again; `finish` runs once the views are in place
     */
    private readonly afterViews?: AfterViews | undefined,
  ) {}

  /** Folds the log into scratch docs without touching the live read models. */
  async build(
    tenant: string,
    onProgress: (p: RebuildProgress) => void = () => {},
    see?: ((streamId: string, event: CustomerEvent) => void) | undefined,
  ): Promise<{ readonly scratch: ScratchDocs; readonly events: number; readonly lastPosition?: string | undefined }> {
    const started = this.clock.now();
    const generation = new Generation();
    // the projector's key cache (tenant and customer) for the events it takes, and this tenant's by customer
    const keys = new Map<string, DataKey | null>();
    const streamKeys = new Map<string, DataKey | null>();
    const others: RecordedEvent[] = [];
    let after: string | undefined;
    let lastPosition: string | undefined;
    let count = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after, limit: this.pageSize });
      // in log order, decoded one at a time (a decoded page held whole would outlive young GCs):
      // activity and merges fold in place, runs of anything else go through the projector
      for (const s of page.events) {
        // every stream's key, from its first event on (its IdentifierLinked, next in the same
        // commit, reads it anyway): a stream without a live key goes through the projector, which
        // writes nothing for an erased cluster, as it does when the log is delivered to it
        let key = streamKeys.get(s.streamId);
        if (key === undefined) streamKeys.set(s.streamId, (key = await this.projector.keyOf(tenant, s.streamId, keys)));
        // the stored event is the envelope: a RecordedEvent only for what the projector takes
        const event = this.projector.decodeEventForView(s, readsPii(s) ? key : null);
        see?.(s.streamId, event);
        if (others.length > 0 && GENERATION_TYPES.has(event.type)) {
          await this.projector.apply(tenant, others, generation, keys);
          others.length = 0;
        }
        if (others.length > 0 || key === null || !generation.tryFoldEvent(s, event)) others.push(recordedEvent(s, event));
      }
      if (others.length > 0) {
        await this.projector.apply(tenant, others, generation, keys);
        others.length = 0;
      }
      count += page.events.length;
      lastPosition = page.events.at(-1)?.position ?? lastPosition;
      if (!page.next || page.events.length === 0) break;
      after = page.next;
      onProgress({ events: count, docs: generation.size, elapsedMs: this.clock.now() - started, done: false });
    }
    this.projector.countSkipped(generation.skipped);
    const scratch = new ScratchDocs();
    for (const [id, doc] of generation.made()) scratch.docs.set(id, doc);
    onProgress({ events: count, docs: scratch.docs.size, elapsedMs: this.clock.now() - started, done: true });
    return { scratch, events: count, lastPosition };
  }

  async rebuild(
    tenant: string,
    onProgress?: (p: RebuildProgress) => void,
    options: { readonly actor?: string | undefined } = {},
  ): Promise<{ readonly events: number; readonly docs: number }> {
    const after = this.afterViews?.(tenant);
    const { scratch, events, lastPosition } = await this.build(tenant, onProgress, after?.see);
    await this.readModels.replaceAll(tenant, scratch.docs.values());
    // events committed while the new generation was being built: fold them in (duplicates skip)
    const keys = new Map<string, DataKey | null>();
    let from = lastPosition;
    let tail = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after: from, limit: this.pageSize });
      if (page.events.length === 0) break;
      const decoded = await this.projector.decodeAll(tenant, page.events, keys);
      for (const r of decoded) after?.see(r.streamId, r.event);
      await this.projector.apply(tenant, decoded, this.readModels, keys);
      tail += page.events.length;
      from = page.events.at(-1)?.position ?? page.next;
      if (!page.next) break;
    }
    await after?.finish(scratch.docs.values(), from);
    const result = { events: events + tail, docs: scratch.docs.size };
    const actor = options.actor ?? 'system';
    if (this.audit)
      await this.audit.audit.append({
        id: this.audit.ids.newId(),
        tenant,
        at: this.clock.now(),
        actor,
        action: 'admin.rebuild',
        outcome: 'ok',
        detail: { ...result },
      });
    return result;
  }
}
