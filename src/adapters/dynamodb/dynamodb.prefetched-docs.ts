import type { ViewDocs } from '../../application/projection/customer360.projector.js';
import type { DocStamp, ViewDoc } from '../../application/ports/read-model.port.js';

// The docs one shard batch will touch, read in one go before the projector folds the batch: the
// projector reads each doc it touches once per batch (then writes each once, compare-and-swap),
// so prefetched, a batch of n customers costs one BatchGetItem per 100 docs instead of n GetItems.
// Each prefetched doc is handed out once; any later read (a batch folded again after losing a
// race, a doc written meanwhile) goes to the store, so nothing stale is served twice.

/** Views that can also read many docs at once (DynamoDbReadModelStore). */
export type ManyDocs = ViewDocs & { getMany(tenant: string, ids: readonly string[]): Promise<ReadonlyMap<string, ViewDoc | undefined>> };

export const readsMany = (docs: ViewDocs): docs is ManyDocs => typeof (docs as Partial<ManyDocs>).getMany === 'function';

export class PrefetchedDocs implements ViewDocs {
  private constructor(
    private readonly docs: ViewDocs,
    private readonly tenant: string,
    private readonly fetched: Map<string, ViewDoc | undefined>,
  ) {}

  /** The docs of `ids`; when the read fails, a view of the store that reads each doc itself. */
  static async of(docs: ManyDocs, tenant: string, ids: readonly string[]): Promise<ViewDocs> {
    try {
      return new PrefetchedDocs(docs, tenant, new Map(await docs.getMany(tenant, ids)));
    } catch {
      return docs; // each read fails (or not) on its own, as without the prefetch
    }
  }

  async get(tenant: string, id: string): Promise<ViewDoc | undefined> {
    if (tenant === this.tenant && this.fetched.has(id)) {
      const doc = this.fetched.get(id);
      this.fetched.delete(id);
      return doc;
    }
    return this.docs.get(tenant, id);
  }

  put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean> {
    this.fetched.delete(doc.customerId);
    return this.docs.put(tenant, doc, expected);
  }

  async delete(tenant: string, id: string): Promise<void> {
    this.fetched.delete(id);
    if (!this.docs.delete) throw new Error(`these read models cannot delete docs, so erased customer ${id} cannot be projected`);
    return this.docs.delete(tenant, id);
  }
}
