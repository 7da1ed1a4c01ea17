import { createCore, type Core, type CoreOptions } from '../../src/application/core.js';
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
import { LocalMasterKey, MasterKeyring } from '../../src/adapters/crypto/master-key.js';
import { SqliteAuditLog } from '../../src/adapters/sqlite/sqlite.audit-log.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteErasureLedger } from '../../src/adapters/sqlite/sqlite.erasure-ledger.js';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { SqliteKeyStore } from '../../src/adapters/sqlite/sqlite.key-store.js';
import { SqliteQuarantine } from '../../src/adapters/sqlite/sqlite.quarantine.js';
import { SqliteReadModelStore } from '../../src/adapters/sqlite/sqlite.read-model-store.js';
import { SqliteSnapshotStore } from '../../src/adapters/sqlite/sqlite.snapshot-store.js';
import type { AuditLog } from '../../src/application/ports/audit.port.js';
import type { ErasureLedger } from '../../src/application/ports/erasure-ledger.port.js';
import type { EventStore } from '../../src/application/ports/event-store.port.js';
import type { KeyStore } from '../../src/application/ports/keys.port.js';
import type { Quarantine } from '../../src/application/ports/quarantine.port.js';
import type { ReadModelStore } from '../../src/application/ports/read-model.port.js';
import type { SnapshotStore } from '../../src/application/ports/snapshot.port.js';
import { listAllViews } from './paging.js';

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public time = Date.UTC(2026, 0, 1)) {}
  now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/** Where a harness keeps what the core writes: in memory, or in an embedded SQLite database. */
export type StoreKind = 'memory' | 'sqlite';

/** The store of a harness that names none: LAW_STORE=memory|sqlite, memory when unset. */
export const defaultStore = (): StoreKind => {
  const store = process.env.LAW_STORE ?? 'memory';
  if (store !== 'memory' && store !== 'sqlite') throw new Error(`LAW_STORE must be memory or sqlite, not ${store}`);
  return store;
};

/** What every store adapter of a harness offers besides its port: all it holds, as plain JSON. */
export type Dumpable = { dump(): unknown };

export type Harness = {
  readonly core: Core;
  readonly storeKind: StoreKind;
  readonly ports: CorePorts & {
    readonly store: EventStore & Dumpable;
    readonly readModels: ReadModelStore & Dumpable;
    readonly keys: KeyStore & Dumpable;
    readonly quarantine: Quarantine & Dumpable;
    readonly metrics: MemoryMetrics;
    readonly snapshots: SnapshotStore & Dumpable;
    readonly audit: AuditLog & Dumpable;
    readonly ledger: ErasureLedger & Dumpable;
  };
  readonly clock: ManualClock;
  readonly web: IngestSource;
  readonly crm: IngestSource;
};

export type HarnessOptions = {
  readonly inlineProjection?: boolean | undefined;
  readonly store?: StoreKind | undefined;
  /** the stored match book's options (CoreOptions.matching) */
  readonly matching?: CoreOptions['matching'];
};

/** a fixed master key: the SQLite key store wraps every data key with it */
const KEYRING = new MasterKeyring(LocalMasterKey.fromBase64(Buffer.alloc(32, 7).toString('base64')));

/** SQLite databases the harnesses opened and nobody closed yet (see closeHarnesses). */
const opened: SqliteDatabase[] = [];

/**
 * Every store on one ':memory:' database (a second one would be another, empty database), in the
 * tables the embedded deployment uses, with the harness's clock wherever an adapter takes one.
 */
const sqliteStores = (clock: ManualClock) => {
  const db = new SqliteDatabase({ path: ':memory:' });
  opened.push(db);
  return {
    store: new SqliteEventStore(db, { clock }),
    readModels: new SqliteReadModelStore(db),
    keys: new SqliteKeyStore(db, { keyring: KEYRING, clock }),
    quarantine: new SqliteQuarantine(db, { clock }),
    audit: new SqliteAuditLog(db),
    ledger: new SqliteErasureLedger(db),
    snapshots: new SqliteSnapshotStore(db),
  };
};

const memoryStores = (clock: ManualClock) => ({
  store: new MemoryEventStore(clock),
  readModels: new MemoryReadModelStore(),
  keys: new MemoryKeyStore(),
  quarantine: new MemoryQuarantine(),
  audit: new MemoryAuditLog(),
  ledger: new MemoryErasureLedger(),
  snapshots: new MemorySnapshotStore(),
});

/** Closes the SQLite databases of every harness made so far (they are gone with the process anyway). */
export const closeHarnesses = (): void => {
  for (const db of opened.splice(0)) db.close();
};

/** The whole core, projecting inline, with a manual clock, on in-memory adapters or on SQLite ones. */
export const makeHarness = (settings: TenantSettingsInput = {}, options: HarnessOptions = {}): Harness => {
  const clock = new ManualClock();
  const storeKind = options.store ?? defaultStore();
  const ports = {
    ...(storeKind === 'sqlite' ? sqliteStores(clock) : memoryStores(clock)),
    cipher: new AesGcmCipher(),
    hasher: new HmacHasher((tenant) => `test-secret-for-${tenant}-0123456789abcdef`),
    clock,
    ids: new UuidV7Generator(clock.now),
    settings: new StaticTenantSettings(settings),
    metrics: new MemoryMetrics(),
  };
  const web: IngestSource = { name: 'web', priority: 10, channel: 'web' };
  const crm: IngestSource = { name: 'crm', priority: 50, channel: 'crm' };
  const sources: Record<string, IngestSource> = { web, crm };
  const core = createCore(ports, {
    inlineProjection: options.inlineProjection ?? true,
    sourceOf: (_t, name) => sources[name] ?? { name, priority: 0, channel: 'other' },
    matching: options.matching,
  });
  return { core, storeKind, ports, clock, web, crm };
};

/** Every read-model doc of a tenant, as the store holds them. */
export const listViews = (h: Harness, tenant: string): Promise<ViewDoc[]> => listAllViews(h.ports.readModels, tenant, 500);

/** Every read-model doc of a tenant, sorted by id, as plain JSON (what a store would hold). */
export const dumpViews = async (h: Harness, tenant: string): Promise<unknown[]> =>
  JSON.parse(JSON.stringify((await listViews(h, tenant)).sort((a, b) => (a.customerId < b.customerId ? -1 : 1))));
