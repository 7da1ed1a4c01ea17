import type { ErasureLedger, ErasureReceipt } from '../../application/ports/erasure-ledger.port.js';

/** The erasure ledger in memory, listed in erasureId (UUIDv7, time) order. */
export class MemoryErasureLedger implements ErasureLedger {
  private readonly tenants = new Map<string, ErasureReceipt[]>();

  async record(receipt: ErasureReceipt): Promise<void> {
    const list = this.tenants.get(receipt.tenant) ?? [];
    if (list.some((r) => r.erasureId === receipt.erasureId)) return;
    list.push(receipt);
    list.sort((a, b) => (a.erasureId < b.erasureId ? -1 : a.erasureId > b.erasureId ? 1 : 0));
    this.tenants.set(receipt.tenant, list);
  }

  async markLakeClean(tenant: string, erasureId: string, at: string): Promise<void> {
    const list = this.tenants.get(tenant) ?? [];
    const i = list.findIndex((r) => r.erasureId === erasureId);
    if (i >= 0 && !list[i]!.lakeCleanAt) list[i] = { ...list[i]!, lakeCleanAt: at };
  }

  async find(tenant: string, customerId: string): Promise<ErasureReceipt | undefined> {
    return this.tenants.get(tenant)?.find((r) => r.customers.includes(customerId));
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
