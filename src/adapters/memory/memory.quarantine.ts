import type { Quarantine, QuarantineEntry, QuarantinePage } from '../../application/ports/quarantine.port.js';

type TenantEntries = {
  /** insertion order; a re-put of a known id keeps its place */
  readonly ids: string[];
  readonly index: Map<string, number>;
  readonly entries: Map<string, QuarantineEntry>;
};

export class MemoryQuarantine implements Quarantine {
  private readonly tenants = new Map<string, TenantEntries>();

  async put(entry: QuarantineEntry): Promise<void> {
    let t = this.tenants.get(entry.tenant);
    if (!t) this.tenants.set(entry.tenant, (t = { ids: [], index: new Map(), entries: new Map() }));
    if (!t.index.has(entry.id)) {
      t.index.set(entry.id, t.ids.length);
      t.ids.push(entry.id);
    }
    t.entries.set(entry.id, entry);
  }

  async get(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    return this.tenants.get(tenant)?.entries.get(id);
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly status?: QuarantineEntry['status'] | undefined },
  ): Promise<QuarantinePage> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const t = this.tenants.get(tenant);
    if (!t) return { entries: [] };
    let i = 0;
    if (options.after !== undefined) {
      const at = t.index.get(options.after);
      if (at === undefined) throw new Error(`unknown quarantine cursor ${options.after}`);
      i = at + 1;
    }
    const matches = (e: QuarantineEntry) => options.status === undefined || e.status === options.status;
    const entries: QuarantineEntry[] = [];
    for (; i < t.ids.length && entries.length < options.limit; i++) {
      const e = t.entries.get(t.ids[i]!)!;
      if (matches(e)) entries.push(e);
    }
    // only hand out a cursor when another match exists, so the last page is never an empty one
    for (; i < t.ids.length; i++) if (matches(t.entries.get(t.ids[i]!)!)) return { entries, next: entries[entries.length - 1]!.id };
    return { entries };
  }

  async markReplayed(tenant: string, id: string, at: number): Promise<void> {
    const entry = this.tenants.get(tenant)?.entries.get(id);
    if (!entry) throw new Error(`no quarantine entry ${id} for tenant ${tenant}`);
    this.tenants.get(tenant)!.entries.set(id, { ...entry, status: 'replayed', replayedAt: at });
  }

  /** Everything held, as plain JSON, so tests can search it for personal data. */
  dump(): unknown {
    const out: Record<string, unknown> = {};
    for (const [tenant, t] of this.tenants) out[tenant] = t.ids.map((id) => t.entries.get(id));
    return JSON.parse(JSON.stringify(out));
  }
}
