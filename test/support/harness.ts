import { createCore, type Core } from '../../src/application/core.js';
import type { CorePorts } from '../../src/application/deps.js';
import type { IngestSource } from '../../src/application/ingest/ingest.use-case.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { StaticTenantSettings, type TenantSettingsInput } from '../../src/adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, UuidV7Generator } from '../../src/adapters/crypto/node-crypto.js';
import { MemoryEventStore } from '../../src/adapters/memory/memory.event-store.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../../src/adapters/memory/memory.read-model-store.js';
import { MemorySnapshotStore } from '../../src/adapters/memory/memory.snapshot-store.js';
import { MemoryAuditLog } from '../../src/adapters/memory/memory.audit-log.js';
import { MemoryErasureLedger } from '../../src/adapters/memory/memory.erasure-ledger.js';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public time = Date.UTC(2026, 0, 1)) {}
  now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

export type Harness = {
  readonly core: Core;
  readonly ports: CorePorts & {
    readonly store: MemoryEventStore;
    readonly readModels: MemoryReadModelStore;
    readonly keys: MemoryKeyStore;
    readonly quarantine: MemoryQuarantine;
    readonly metrics: MemoryMetrics;
    readonly snapshots: MemorySnapshotStore;
    readonly audit: MemoryAuditLog;
    readonly ledger: MemoryErasureLedger;
  };
  readonly clock: ManualClock;
  readonly web: IngestSource;
  readonly crm: IngestSource;
};

/** The whole core on in-memory adapters, projecting inline, with a manual clock. */
export const makeHarness = (settings: TenantSettingsInput = {}, options: { inlineProjection?: boolean } = {}): Harness => {
  const clock = new ManualClock();
  const ports = {
    store: new MemoryEventStore(clock),
    readModels: new MemoryReadModelStore(),
    keys: new MemoryKeyStore(),
    cipher: new AesGcmCipher(),
    hasher: new HmacHasher((tenant) => `test-secret-for-${tenant}-0123456789abcdef`),
    clock,
    ids: new UuidV7Generator(clock.now),
    quarantine: new MemoryQuarantine(),
    settings: new StaticTenantSettings(settings),
    metrics: new MemoryMetrics(),
    audit: new MemoryAuditLog(),
    ledger: new MemoryErasureLedger(),
    snapshots: new MemorySnapshotStore(),
  };
  const web: IngestSource = { name: 'web', priority: 10, channel: 'web' };
  const crm: IngestSource = { name: 'crm', priority: 50, channel: 'crm' };
  const sources: Record<string, IngestSource> = { web, crm };
  const core = createCore(ports, {
    inlineProjection: options.inlineProjection ?? true,
    sourceOf: (_t, name) => sources[name] ?? { name, priority: 0, channel: 'other' },
  });
  return { core, ports, clock, web, crm };
};

/** Every read-model doc of a tenant, as the store holds them. */
export const listViews = async (h: Harness, tenant: string): Promise<ViewDoc[]> => {
  const out: ViewDoc[] = [];
  let after: string | undefined;
  do {
    const page = await h.ports.readModels.list(tenant, { after, limit: 500 });
    out.push(...page.docs);
    after = page.next;
  } while (after);
  return out;
};

/** Every read-model doc of a tenant, sorted by id, as plain JSON (what a store would hold). */
export const dumpViews = async (h: Harness, tenant: string): Promise<unknown[]> =>
  JSON.parse(JSON.stringify((await listViews(h, tenant)).sort((a, b) => (a.customerId < b.customerId ? -1 : 1))));
