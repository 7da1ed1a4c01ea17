import type { EventStore } from '../ports/event-store.port.js';
import type { DataKey } from '../ports/keys.port.js';
import { type ReadModelStore, type ViewDoc } from '../ports/read-model.port.js';
import type { Clock } from '../ports/runtime.port.js';
import type { Customer360Projector, ViewDocs } from './customer360.projector.js';

// Rebuild: replay the tenant's whole log through the same projector into a fresh generation, then
// switch over at once. Rebuilds fold stored resolution outcomes; they never re-run resolution.

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
}

export class RebuildProjections {
  constructor(
    private readonly store: EventStore,
    private readonly readModels: ReadModelStore,
    private readonly projector: Customer360Projector,
    private readonly clock: Clock,
    private readonly pageSize = 1_000,
  ) {}

  /** Folds the log into scratch docs without touching the live read models. */
  async build(
    tenant: string,
    onProgress: (p: RebuildProgress) => void = () => {},
  ): Promise<{ readonly scratch: ScratchDocs; readonly events: number; readonly lastPosition?: string | undefined }> {
    const started = this.clock.now();
    const scratch = new ScratchDocs();
    const keys = new Map<string, DataKey | null>();
    let after: string | undefined;
    let lastPosition: string | undefined;
    let count = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after, limit: this.pageSize });
      await this.projector.apply(tenant, await this.projector.decodeAll(tenant, page.events, keys), scratch, keys);
      count += page.events.length;
      lastPosition = page.events.at(-1)?.position ?? lastPosition;
      if (!page.next || page.events.length === 0) break;
      after = page.next;
      onProgress({ events: count, docs: scratch.docs.size, elapsedMs: this.clock.now() - started, done: false });
    }
    onProgress({ events: count, docs: scratch.docs.size, elapsedMs: this.clock.now() - started, done: true });
    return { scratch, events: count, lastPosition };
  }

  async rebuild(tenant: string, onProgress?: (p: RebuildProgress) => void): Promise<{ readonly events: number; readonly docs: number }> {
    const { scratch, events, lastPosition } = await this.build(tenant, onProgress);
    await this.readModels.replaceAll(tenant, scratch.docs.values());
    // events committed while the new generation was being built: fold them in (duplicates skip)
    const keys = new Map<string, DataKey | null>();
    let after = lastPosition;
    let tail = 0;
    for (;;) {
      const page = await this.store.readAll(tenant, { after, limit: this.pageSize });
      if (page.events.length === 0) break;
      await this.projector.apply(tenant, await this.projector.decodeAll(tenant, page.events, keys), this.readModels, keys);
      tail += page.events.length;
      after = page.events.at(-1)?.position ?? page.next;
      if (!page.next) break;
    }
    return { events: events + tail, docs: scratch.docs.size };
  }
}
