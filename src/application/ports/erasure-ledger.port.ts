// Every erasure, kept for good (no personal data: ids, times, counts), so that a restore from a
// backup taken before an erasure can re-apply it, and a repeated erasure returns the same receipt.

export type ErasureReceipt = {
  readonly erasureId: string;
  readonly tenant: string;
  /** the id the request named */
  readonly requestedId: string;
  /** the whole identity cluster: the survivor and every customer merged into it */
  readonly customers: readonly string[];
  readonly erasedAt: string;
  readonly actor: string;
  readonly removed: {
    readonly streams: number;
    readonly dataKeys: number;
    readonly claims: number;
    readonly views: number;
    readonly snapshots: number;
    readonly quarantined: number;
  };
  /** when no analytics lake file held a row of these customers any more (absent: no lake is written) */
  readonly lakeCleanAt?: string | undefined;
  /**
   * when the last backup that could hold the deleted items has expired (the erasure time plus the
   * deployment's backup retention); absent when the deployment keeps no backups of ours
   */
  readonly backupsCleanAt?: string | undefined;
};

export interface ErasureLedger {
  /** idempotent by erasureId */
  record(receipt: ErasureReceipt): Promise<void>;
  /** the erasure that covered this customer id, if any */
  find(tenant: string, customerId: string): Promise<ErasureReceipt | undefined>;
  /** oldest first, by erasureId (UUIDv7) */
  list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number },
  ): Promise<{ readonly entries: readonly ErasureReceipt[]; readonly next?: string | undefined }>;
}
