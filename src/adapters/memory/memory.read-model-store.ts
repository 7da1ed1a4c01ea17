import { appliedSum, docOrder, uniqueDocs, type DocStamp, type ReadModelStore, type ViewDoc } from '../../application/ports/read-model.port.js';
import { compareStrings } from '../../domain/shared/compare.js';

type TenantDocs = {
  readonly docs: Map<string, ViewDoc>;
  /** customer ids in order, rebuilt lazily: puts of known ids (the common case) keep it valid */
  sorted: string[] | undefined;
};

/** First index whose id is greater than `after` (binary search). */
const firstAfter = (ids: readonly string[], after: string): number => {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

export class MemoryReadModelStore implements ReadModelStore {
  private readonly tenants = new Map<string, TenantDocs>();

  async get(tenant: string, customerId: string): Promise<ViewDoc | undefined> {
    return this.tenants.get(tenant)?.docs.get(customerId);
  }

  async put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean> {
    const t = this.tenant(tenant);
    const stored = t.docs.get(doc.customerId);
    if (expected === null && stored) return false;
    if (expected && (!stored || stored.version !== expected.version || appliedSum(stored) !== expected.appliedSum)) return false;
    if (stored && docOrder(doc, stored) < 0) return false;
    if (!stored) t.sorted = undefined;
    t.docs.set(doc.customerId, doc);
    return true;
  }

  async delete(tenant: string, customerId: string): Promise<void> {
    const t = this.tenants.get(tenant);
    if (t?.docs.delete(customerId)) t.sorted = undefined;
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number },
  ): Promise<{ readonly docs: readonly ViewDoc[]; readonly next?: string | undefined }> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const t = this.tenants.get(tenant);
    if (!t) return { docs: [] };
    const ids = (t.sorted ??= [...t.docs.keys()].sort(compareStrings));
    const start = options.after === undefined ? 0 : firstAfter(ids, options.after);
    const page = ids.slice(start, start + options.limit);
    const docs = page.map((id) => t.docs.get(id)!);
    return start + page.length < ids.length ? { docs, next: page[page.length - 1] } : { docs };
  }

  async replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void> {
    const next = new Map<string, ViewDoc>();
    for (const doc of uniqueDocs(docs)) next.set(doc.customerId, doc);
    this.tenants.set(tenant, { docs: next, sorted: undefined });
  }

  /** Everything held, as plain JSON, so tests can search it for personal data. */
  dump(): unknown {
    const out: Record<string, unknown> = {};
    for (const [tenant, t] of this.tenants) out[tenant] = Object.fromEntries(t.docs);
    return JSON.parse(JSON.stringify(out));
  }

  private tenant(tenant: string): TenantDocs {
    let t = this.tenants.get(tenant);
    if (!t) this.tenants.set(tenant, (t = { docs: new Map(), sorted: undefined }));
    return t;
  }
}
