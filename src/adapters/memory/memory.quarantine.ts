import {
  quarantinePayloadJson,
  type Quarantine,
  type QuarantineEntry,
  type QuarantinePage,
  type QuarantineRewrite,
} from '../../application/ports/quarantine.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';

// Entries expire after the retention, counted from when they were put (like DynamoDbQuarantine):
// an expired entry is gone for every read at once, and its data is dropped from memory on the next
// put or list. Its id stays as a position marker (no data), so a cursor handed out earlier still
// works.

export type MemoryQuarantineOptions = {
  /** how long an entry is kept after it was quarantined; default 30 days */
  readonly retentionMs?: number | undefined;
  readonly clock?: Clock | undefined;
};

export const DEFAULT_MEMORY_QUARANTINE_RETENTION_MS = 30 * 24 * 3_600_000;

type TenantEntries = {
  /** insertion order; a re-put of a known id keeps its place */
  readonly ids: string[];
  readonly index: Map<string, number>;
  readonly entries: Map<string, { readonly entry: QuarantineEntry; readonly expiresAt: number }>;
};

export class MemoryQuarantine implements Quarantine {
  private readonly tenants = new Map<string, TenantEntries>();
  /** put order is expiry order (the retention is one constant): the oldest expire first */
  private readonly expiries: { readonly tenant: string; readonly id: string; readonly expiresAt: number }[] = [];
  private readonly retentionMs: number;
  private readonly clock: Clock;

  constructor(options: MemoryQuarantineOptions = {}) {
    this.retentionMs = options.retentionMs ?? DEFAULT_MEMORY_QUARANTINE_RETENTION_MS;
    if (!(this.retentionMs > 0)) throw new Error(`quarantine retention must be a positive number of milliseconds, got ${this.retentionMs}`);
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  async put(entry: QuarantineEntry): Promise<void> {
    this.sweep();
    let t = this.tenants.get(entry.tenant);
    if (!t) this.tenants.set(entry.tenant, (t = { ids: [], index: new Map(), entries: new Map() }));
    if (!t.index.has(entry.id)) {
      t.index.set(entry.id, t.ids.length);
      t.ids.push(entry.id);
    }
    const expiresAt = this.clock.now() + this.retentionMs;
    // a copy, kept as the other stores keep it (JSON text, non-finite numbers as strings): what
    // is read back and replayed is what a database would give, and a later change by the caller
    // to the object it put does not reach it
    const text = quarantinePayloadJson(entry.payload);
    t.entries.set(entry.id, { entry: { ...entry, payload: text === undefined ? undefined : JSON.parse(text) }, expiresAt });
    this.expiries.push({ tenant: entry.tenant, id: entry.id, expiresAt });
  }

  async get(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    return this.live(tenant, id);
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly status?: QuarantineEntry['status'] | undefined },
  ): Promise<QuarantinePage> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    this.sweep();
    const t = this.tenants.get(tenant);
    if (!t) return { entries: [] };
    let i = 0;
    if (options.after !== undefined) {
      // ids are time-ordered (UUIDv7) and put in arrival order; an id never put (or of another
      // store) is a position too, as in the SQLite and DynamoDB stores: the first id after it
      const at = t.index.get(options.after);
      const after = options.after;
      i = at !== undefined ? at + 1 : ((n) => (n < 0 ? t.ids.length : n))(t.ids.findIndex((id) => id > after));
    }
    const matching = (id: string): QuarantineEntry | undefined => {
      const e = this.live(tenant, id);
      return e && (options.status === undefined || e.status === options.status) ? e : undefined;
    };
    const entries: QuarantineEntry[] = [];
    for (; i < t.ids.length && entries.length < options.limit; i++) {
      const e = matching(t.ids[i]!);
      if (e) entries.push(e);
    }
    // only hand out a cursor when another match exists, so the last page is never an empty one
    for (; i < t.ids.length; i++) if (matching(t.ids[i]!)) return { entries, next: entries[entries.length - 1]!.id };
    return { entries };
  }

  async markReplayed(tenant: string, id: string, at: number): Promise<void> {
    const held = this.tenants.get(tenant)?.entries.get(id);
    if (!held || !this.live(tenant, id)) throw new Error(`no quarantine entry ${id} for tenant ${tenant} (never quarantined, or past its retention)`);
    this.tenants.get(tenant)!.entries.set(id, { ...held, entry: { ...held.entry, status: 'replayed', replayedAt: at } });
  }

  /** The id stays as a position marker (no data), like an expired one, so cursors keep working. */
  async delete(tenant: string, id: string): Promise<void> {
    this.tenants.get(tenant)?.entries.delete(id);
  }

  async rewrite(tenant: string, id: string, change: QuarantineRewrite): Promise<boolean> {
    const held = this.tenants.get(tenant)?.entries.get(id);
    if (!held || !this.live(tenant, id) || JSON.stringify(held.entry.reason) !== JSON.stringify(change.ifReason)) return false;
    const text = quarantinePayloadJson(change.payload);
    const entry: QuarantineEntry = {
      ...held.entry,
      reason: change.reason,
      payload: text === undefined ? undefined : JSON.parse(text),
      matchKeys: change.matchKeys,
    };
    // the same expiry: the retention runs from when it was quarantined
    this.tenants.get(tenant)!.entries.set(id, { ...held, entry });
    return true;
  }

  /** Everything held, as plain JSON, so tests can search it for personal data. */
  dump(): unknown {
    this.sweep();
    const out: Record<string, unknown> = {};
    for (const [tenant, t] of this.tenants) out[tenant] = t.ids.flatMap((id) => t.entries.get(id)?.entry ?? []);
    return JSON.parse(JSON.stringify(out));
  }

  private live(tenant: string, id: string): QuarantineEntry | undefined {
    const held = this.tenants.get(tenant)?.entries.get(id);
    return held && held.expiresAt > this.clock.now() ? held.entry : undefined;
  }

  private sweep(): void {
    const now = this.clock.now();
    let n = 0;
    for (; n < this.expiries.length && this.expiries[n]!.expiresAt <= now; n++) {
      const { tenant, id, expiresAt } = this.expiries[n]!;
      const entries = this.tenants.get(tenant)?.entries;
      // a later put of the same id moved its expiry: that put has its own record further on
      if (entries?.get(id)?.expiresAt === expiresAt) entries.delete(id);
    }
    if (n > 0) this.expiries.splice(0, n);
  }
}
