import type { AuditEntry, AuditLog, AuditPage } from '../../application/ports/audit.port.js';

/** The audit log in memory: entries by tenant, listed in id (UUIDv7, time) order. */
export class MemoryAuditLog implements AuditLog {
  private readonly tenants = new Map<string, AuditEntry[]>();

  async append(entry: AuditEntry): Promise<void> {
    const list = this.tenants.get(entry.tenant) ?? [];
    if (list.some((e) => e.id === entry.id)) return;
    list.push(entry);
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.tenants.set(entry.tenant, list);
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly customerId?: string | undefined },
  ): Promise<AuditPage> {
    const all = (this.tenants.get(tenant) ?? []).filter(
      (e) => (options.after === undefined || e.id > options.after) && (options.customerId === undefined || e.customerId === options.customerId),
    );
    const entries = all.slice(0, options.limit);
    return all.length > entries.length ? { entries, next: entries.at(-1)!.id } : { entries };
  }

  dump(): unknown {
    return JSON.parse(JSON.stringify(Object.fromEntries(this.tenants)));
  }
}
