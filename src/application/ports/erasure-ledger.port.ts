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
    /** quarantine entries deleted whole (those naming the cluster that keep no one else's calls) */
    readonly quarantined: number;
    /**
     * quarantine entries kept for other people's calls, the cluster's calls taken out of them (an
     * entry keeping a batch's refused calls, or a batch body refused whole; absent: none)
     */
    readonly quarantineRewritten?: number | undefined;
    /** the cluster's calls taken out of those entries (absent: none) */
    readonly quarantineCallsRemoved?: number | undefined;
  };
  /**
   * quarantined payloads the erasure could match by their recorded keys only, not search, because
   * their key is wrapped by a master key the erasing process's keyring lacked (absent: none). They
   * stay until `c360 erasures reapply` runs with that master key back in the keyring, or they expire.
   */
  readonly quarantineUnsearched?: number | undefined;
  /**
   * when no analytics lake file held a row of these customers any more: set by the erasure where
   * its process writes the lake, else by the lake's writer once a run of it has rewritten the files
   * (absent: no lake is written, or not yet clean)
   */
  readonly lakeCleanAt?: string | undefined;
  /**
   * a lake written elsewhere on a schedule (the lake function): the end of its first run after the
   * erasure, by which its rows are gone while the lake keeps up with the log; lakeCleanAt is added
   * when that run has rewritten the files
   */
  readonly lakeCleanBy?: string | undefined;
  /**
   * when the last backup that could hold the deleted items has expired (the erasure time plus the
   * deployment's backup retention); absent when the deployment keeps no backups of ours
   */
  readonly backupsCleanAt?: string | undefined;
};

export interface ErasureLedger {
  /** idempotent by erasureId */
  record(receipt: ErasureReceipt): Promise<void>;
  /**
   * Records when the analytics lake was found clean of the erasure's customers. A receipt that
   * says so already keeps its time; an unknown erasure id changes nothing.
   */
  markLakeClean(tenant: string, erasureId: string, at: string): Promise<void>;
  /** the erasure that covered this customer id, if any */
  find(tenant: string, customerId: string): Promise<ErasureReceipt | undefined>;
  /** oldest first, by erasureId (UUIDv7) */
  list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number },
  ): Promise<{ readonly entries: readonly ErasureReceipt[]; readonly next?: string | undefined }>;
}
