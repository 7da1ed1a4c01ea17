import type { IdempotencyRecord, StoredEvent } from './event-store.port.js';
import type { OutboxEntry } from './outbox.port.js';
import type { QuarantineEntry } from './quarantine.port.js';

// Moving a tenant from one store to another (`c360 migrate`): what is not derived, as stored. A
// source hands out records a page at a time; a target writes them as they are (same stream ids,
// versions, event ids, ciphertext; keys still wrapped, same key ids), idempotently, so a migration
// run again writes nothing twice. Views, snapshots and checkpoints are derived: rebuilt after.

export type TransferPage<T> = { readonly items: readonly T[]; readonly next?: string | undefined };
export type PageRequest = { readonly after?: string | undefined; readonly limit: number };

export type TransferClaim = { readonly key: string; readonly owner: string };

/** A data key as stored: wrapped by a master key, never unwrapped on the way; or its tombstone. */
export type TransferKey =
  | {
      readonly kind: 'live';
      readonly customerId: string;
      readonly keyId: string;
      readonly masterKeyId: string;
      readonly wrapped: string;
      readonly createdAt: number;
    }
  | { readonly kind: 'destroyed'; readonly customerId: string; readonly destroyedAt: number };

export interface StoreExport {
  /** the tenant's whole log, in log order; events keep their stored form (position is the source's) */
  events(tenant: string, page: PageRequest): Promise<TransferPage<StoredEvent>>;
  claims(tenant: string, page: PageRequest): Promise<TransferPage<TransferClaim>>;
  /** every idempotency record kept, expired ones included */
  idempotency(tenant: string, page: PageRequest): Promise<TransferPage<IdempotencyRecord>>;
  keys(tenant: string, page: PageRequest): Promise<TransferPage<TransferKey>>;
  /** quarantine entries as stored (payloads still encrypted under the tenant's quarantine key) */
  quarantine(tenant: string, page: PageRequest): Promise<TransferPage<QuarantineEntry>>;
  /** the engagement outbox (imported through the Outbox port, which can write every state) */
  outbox(tenant: string, page: PageRequest): Promise<TransferPage<OutboxEntry>>;
}

export interface StoreImport {
  /** whether the store already holds events or data keys of the tenant (a target to refuse) */
  holdsTenant(tenant: string): Promise<boolean>;
  /**
   * Appends events in the order given, which must be the source's log order from its start (one
   * importer instance per migration): the target's log order is the source's. Idempotent per
   * (stream, version).
   */
  importEvents(tenant: string, events: readonly StoredEvent[]): Promise<void>;
  importClaims(tenant: string, claims: readonly TransferClaim[]): Promise<void>;
  importIdempotency(tenant: string, records: readonly IdempotencyRecord[]): Promise<void>;
  /** a live key never replaces a tombstone; a tombstone replaces a live key */
  importKeys(tenant: string, keys: readonly TransferKey[]): Promise<void>;
  /** as stored, like quarantine() hands them out */
  importQuarantine(tenant: string, entries: readonly QuarantineEntry[]): Promise<void>;
}

export type StoreTransfer = StoreExport & StoreImport;
