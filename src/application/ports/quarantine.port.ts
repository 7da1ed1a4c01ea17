export type QuarantineReason = {
  readonly code: string;
  readonly message: string;
  readonly issues: readonly { readonly path: string; readonly message: string }[];
};

/** what a quarantined payload that is not a call is (see QuarantineEntry.intake) */
export type QuarantineIntake = 'body' | 'batch' | 'interest' | 'record';

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
   * what the payload is when it is not a call that ingest refused (those are replayed): set by
   * QuarantineUseCases.hold for what never reached ingest, e.g. 'body' (a request body refused
   * before it was parsed: an excerpt, or text that is not JSON), 'interest' (a /v1/interests body),
   * 'record' (an import line or a stream record that did not decode). Such an entry is not
   * replayed as a call; absent on entries kept before it was recorded.
   */
  readonly intake?: string | undefined;
  /**
   * keyed hashes (claim keys) of every identifier-shaped token in the raw payload, parsed or not,
   * taken when it was quarantined: an erasure deletes the entries naming its cluster by these
   */
  readonly matchKeys?: readonly string[] | undefined;
  readonly replayedAt?: number | undefined;
  /**
   * set when the payload cannot be read: its key was destroyed, or the ciphertext was altered (for
   * good), or its key is wrapped by a master key this process's keyring lacks (`key-unreadable`: a
   * configuration fault; it reads again once that master key is back in the keyring)
   */
  readonly payloadUnavailable?: 'key-destroyed' | 'tampered' | 'key-unreadable' | undefined;
};

/** What QuarantineRewrite changes of an entry: its payload, and the reason and match keys that go with it. */
export type QuarantineRewrite = {
  readonly reason: QuarantineReason;
  readonly payload: unknown;
  readonly matchKeys: readonly string[];
  /**
   * the entry's reason as read: the rewrite happens only while it is still this one (a
   * compare-and-set; an erasure's rewrite always changes the reason), so two erasures rewriting one
   * entry at once cannot put back what the other took out
   */
  readonly ifReason: QuarantineReason;
};

export type QuarantinePage = { readonly entries: readonly QuarantineEntry[]; readonly next?: string | undefined };

/**
 * Entries are listed by id: UUIDv7s, oldest first, but for an entry kept by its arrival (a retry,
 * a re-import: IngestUseCase.quarantine), whose id is a keyed hash and sorts among them by chance.
 */
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
  /**
   * Replaces the payload, reason and match keys of a live entry (an erasure taking one person's
   * calls out of an entry that keeps other people's calls too), keeping its id, source, status,
   * received and replayed times, intake and expiry (the retention still runs from when it was
   * quarantined). Answers whether it did: false, and nothing changed, for an id that is unknown,
   * deleted or past its retention, or whose reason is no longer `ifReason`.
   */
  rewrite(tenant: string, id: string, change: QuarantineRewrite): Promise<boolean>;
}

/**
 * A payload as JSON text for a store (undefined for an undefined payload). JSON has no Infinity or
 * NaN: JSON.parse reads 1e400 as Infinity, and JSON.stringify would write it back as null, so a
 * replay would ingest null (or 0) where the sender's number overflowed. A non-finite number is
 * kept as the object `{"$nonFinite": "Infinity"}` ("-Infinity", "NaN") instead: recognisable when
 * read, and refused again by validation wherever it stands, never taken for a value: an amount
 * reads it as no finite number (the same reason as the first time), an id or a name refuses an
 * object. (A string "Infinity" would be a valid user id: two overflowed ids would become one
 * customer on replay.) Every store of the quarantine keeps payloads through this.
 */
export const quarantinePayloadJson = (payload: unknown): string | undefined => {
  const plain = JSON.stringify(payload) as string | undefined;
  // a non-finite number can only have become "null": without one, the plain text is exact
  if (plain === undefined || !plain.includes('null')) return plain;
  return JSON.stringify(payload, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $nonFinite: String(v) } : v));
};
