import type { ErasureLedger, ErasureReceipt } from '../../application/ports/erasure-ledger.port.js';

/** The erasure ledger in memory, listed in erasureId (UUIDv7, time) order. */
export class MemoryErasureLedger implements ErasureLedger {
  private readonly tenants = new Map<string, ErasureReceipt[]>();
  /** by tenant, each customer id an erasure covered and its receipt: find is read on every GET of a customer */
  private readonly covered = new Map<string, Map<string, ErasureReceipt>>();

  async record(receipt: ErasureReceipt): Promise<void> {
    const list = this.tenants.get(receipt.tenant) ?? [];
    if (list.some((r) => r.erasureId === receipt.erasureId)) return;
    list.push(receipt);
    let ids = this.covered.get(receipt.tenant);
    if (!ids) this.covered.set(receipt.tenant, (ids = new Map()));
    // the first erasure that covered an id, as a scan in erasureId order finds it
    for (const id of receipt.customers) if (!ids.has(id) || ids.get(id)!.erasureId > receipt.erasureId) ids.set(id, receipt);
    list.sort((a, b) => (a.erasureId < b.erasureId ? -1 : a.erasureId > b.erasureId ? 1 : 0));
    this.tenants.set(receipt.tenant, list);
  }

  async markLakeClean(tenant: string, erasureId: string, at: string): Promise<void> {
    const list = this.tenants.get(tenant) ?? [];
    const i = list.findIndex((r) => r.erasureId === erasureId);
    if (i < 0 || list[i]!.lakeCleanAt) return;
    const updated = { ...list[i]!, lakeCleanAt: at };
    list[i] = updated;
    const ids = this.covered.get(tenant);
    for (const id of updated.customers) if (ids?.get(id)?.erasureId === erasureId) ids.set(id, updated);
  }

  async find(tenant: string, customerId: string): Promise<ErasureReceipt | undefined> {
    return this.covered.get(tenant)?.get(customerId);
  }

  async list(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }) {
    const all = (this.tenants.get(tenant) ?? []).filter((r) => options.after === undefined || r.erasureId > options.after);
    const entries = all.slice(0, options.limit);
    return all.length > entries.length ? { entries, next: entries.at(-1)!.erasureId } : { entries };
  }

  dump(): unknown {
    return JSON.parse(JSON.stringify(Object.fromEntries(this.tenants)));
  }
}
