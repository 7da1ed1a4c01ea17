export type QuarantineReason = {
  readonly code: string;
  readonly message: string;
  readonly issues: readonly { readonly path: string; readonly message: string }[];
};

export type QuarantineEntry = {
  readonly id: string;
  readonly tenant: string;
  readonly receivedAt: number;
  readonly source: string;
  readonly reason: QuarantineReason;
  /** the raw payload exactly as received, so it can be replayed after a fix */
  readonly payload: unknown;
  readonly status: 'pending' | 'replayed';
  /**
   * keyed hashes (claim keys) of every identifier-shaped token in the raw payload, parsed or not,
   * taken when it was quarantined: an erasure deletes the entries naming its cluster by these
   */
  readonly matchKeys?: readonly string[] | undefined;
  readonly replayedAt?: number | undefined;
  /** set when the payload can no longer be read: its key was destroyed, or the ciphertext was altered */
  readonly payloadUnavailable?: 'key-destroyed' | 'tampered' | undefined;
};

export type QuarantinePage = { readonly entries: readonly QuarantineEntry[]; readonly next?: string | undefined };

export interface Quarantine {
  put(entry: QuarantineEntry): Promise<void>;
  get(tenant: string, id: string): Promise<QuarantineEntry | undefined>;
  list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly status?: QuarantineEntry['status'] | undefined },
  ): Promise<QuarantinePage>;
  markReplayed(tenant: string, id: string, at: number): Promise<void>;
  /** removes an entry (erasure); deleting an unknown id is a no-op */
  delete(tenant: string, id: string): Promise<void>;
}
