import type { AuditLog } from '../ports/audit.port.js';
import type { ErasureLedger } from '../ports/erasure-ledger.port.js';
import type { Outbox, OutboxEntry } from '../ports/outbox.port.js';
import type { PageRequest, StoreExport, StoreImport, TransferPage } from '../ports/store-transfer.port.js';

// `c360 migrate`: copies one tenant's non-derived records from one store to another, as stored:
// the event log in log order (same ids, versions, ciphertext), claims, idempotency records, data
// keys with their tombstones (an erased customer stays erased), the quarantine, the erasure ledger,
// the audit log and the outbox. Every write is idempotent, so a migration that stopped half way is
// finished by running it again with `resume`. Views are derived: the caller rebuilds them on the
// target afterwards. Keys first: nothing on the target ever holds ciphertext without its key; then
// the erasure ledger: nothing on the target shows an erased customer while its log is copied.

export type MigrationSource = { readonly transfer: StoreExport; readonly ledger: ErasureLedger; readonly audit: AuditLog };
export type MigrationTarget = { readonly transfer: StoreImport; readonly ledger: ErasureLedger; readonly audit: AuditLog; readonly outbox: Outbox };

export type MigrationKind = 'keys' | 'tombstones' | 'events' | 'claims' | 'idempotency' | 'quarantine' | 'ledger' | 'audit' | 'outbox';
export type MigrationCounts = Readonly<Record<MigrationKind, number>>;

export type MigrationOptions = {
  /** write into a target that already holds the tenant (finishing an interrupted migration) */
  readonly resume?: boolean | undefined;
  readonly pageSize?: number | undefined;
  readonly onProgress?: ((kind: MigrationKind, copied: number) => void) | undefined;
};

export class TargetNotEmptyError extends Error {
  readonly code = 'MIGRATION_TARGET_NOT_EMPTY';
  constructor(readonly tenant: string) {
    super(`the target store already holds data of tenant "${tenant}"; migrate into an empty store, or pass --resume to finish an interrupted migration`);
  }
}

const KINDS: readonly MigrationKind[] = ['keys', 'tombstones', 'events', 'claims', 'idempotency', 'quarantine', 'ledger', 'audit', 'outbox'];

/** Every page of a source, in order, each handed to `write` before the next is read. */
const copyAll = async <T>(
  read: (page: PageRequest) => Promise<TransferPage<T>>,
  limit: number,
  write: (items: readonly T[]) => Promise<void>,
): Promise<void> => {
  let after: string | undefined;
  do {
    const page = await read({ after, limit });
    if (page.items.length > 0) await write(page.items);
    after = page.next;
  } while (after !== undefined);
};

/** Through the Outbox port: staged as the unconfirmed entry it began as, then brought to its state. */
const importOutboxEntry = async (outbox: Outbox, e: OutboxEntry): Promise<void> => {
  if (!(await outbox.stage({ ...e, status: 'pending', confirmed: false }))) return; // there already, confirmed
  if (e.status === 'published') await outbox.markPublished(e.tenant, e.decisionId, e.publishedAt ?? e.createdAt);
  else if (e.confirmed)
    await outbox.reschedule(e.tenant, e.decisionId, { attempts: e.attempts, nextAttemptAt: e.nextAttemptAt, confirmed: true, lastError: e.lastError });
};

export const migrateTenant = async (
  tenant: string,
  source: MigrationSource,
  target: MigrationTarget,
  options: MigrationOptions = {},
): Promise<MigrationCounts> => {
  if (!options.resume && (await target.transfer.holdsTenant(tenant))) throw new TargetNotEmptyError(tenant);
  const limit = options.pageSize ?? 200;
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<MigrationKind, number>;
  const add = (kind: MigrationKind, n: number) => {
    counts[kind] += n;
    options.onProgress?.(kind, counts[kind]);
  };
  const s = source.transfer;
  const t = target.transfer;

  await copyAll(
    (p) => s.keys(tenant, p),
    limit,
    async (keys) => {
      await t.importKeys(tenant, keys);
      const destroyed = keys.filter((k) => k.kind === 'destroyed').length;
      add('tombstones', destroyed);
      add('keys', keys.length - destroyed);
    },
  );
  // the erasure ledger before the log: from the first event copied, an erased customer's id is
  // answered 410 on the target (a server may already run there), never with a view folded from a
  // log that does not hold the tombstone yet
  await copyAll(
    (p) => source.ledger.list(tenant, p).then((r) => ({ items: r.entries, next: r.next })),
    limit,
    async (receipts) => {
      for (const r of receipts) await target.ledger.record(r); // idempotent by erasureId
      add('ledger', receipts.length);
    },
  );
  await copyAll(
    (p) => s.events(tenant, p),
    limit,
    async (events) => {
      await t.importEvents(tenant, events);
      add('events', events.length);
    },
  );
  await copyAll(
    (p) => s.claims(tenant, p),
    limit,
    async (claims) => {
      await t.importClaims(tenant, claims);
      add('claims', claims.length);
    },
  );
  await copyAll(
    (p) => s.idempotency(tenant, p),
    limit,
    async (records) => {
      await t.importIdempotency(tenant, records);
      add('idempotency', records.length);
    },
  );
  await copyAll(
    (p) => s.quarantine(tenant, p),
    limit,
    async (entries) => {
      await t.importQuarantine(tenant, entries);
      add('quarantine', entries.length);
    },
  );
  await copyAll(
    (p) => source.audit.list(tenant, p).then((r) => ({ items: r.entries, next: r.next })),
    limit,
    async (entries) => {
      for (const e of entries) await target.audit.append(e); // idempotent by id
      add('audit', entries.length);
    },
  );
  await copyAll(
    (p) => s.outbox(tenant, p),
    limit,
    async (entries) => {
      for (const e of entries) await importOutboxEntry(target.outbox, e);
      add('outbox', entries.length);
    },
  );
  return counts;
};
