import type { Channel } from '../../domain/customer/customer.events.js';

// The event store port, shaped exactly as docs/architecture.md's write path: one atomic commit that appends to
// one or more customer streams, moves identifier claims and records the idempotency key, or
// changes nothing at all. Only use cases retry (bounded).

/** The storage format of one event. `pii` is AES-256-GCM ciphertext under the customer's data key. */
export type StoredEvent = {
  readonly tenant: string;
  readonly streamId: string;
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  /** schema version of `data`/`pii`; upcasters run on read */
  readonly v: number;
  readonly observedAt: number;
  readonly recordedAt: number;
  readonly source: string;
  readonly sourcePriority: number;
  readonly channel: Channel;
  readonly messageId?: string | undefined;
  readonly identifierKeys?: readonly string[] | undefined;
  readonly data: unknown;
  readonly pii?: string | undefined;
  /** assigned by the store: a tenant-wide order for rebuilds, only meaningful to that store */
  readonly position?: string | undefined;
};

export type StreamAppend = {
  readonly streamId: string;
  /** version the stream must be at before this commit; 0 means it must not exist yet */
  readonly expectedVersion: number;
  readonly events: readonly StoredEvent[];
};

export type ClaimOp =
  /** take an unclaimed key */
  | { readonly op: 'claim'; readonly key: string; readonly owner: string }
  /** give a key back (erasure); a release of an unclaimed key is a no-op */
  | { readonly op: 'release'; readonly key: string; readonly expectedOwner: string }
  /** hand a key to another customer (unmerge only: merges never move claims) */
  | { readonly op: 'transfer'; readonly key: string; readonly expectedOwner: string; readonly owner: string };

export type IdempotencyRecord = { readonly key: string; readonly payloadHash: string; readonly expiresAt: number };

export type Commit = {
  readonly tenant: string;
  readonly idempotency?: IdempotencyRecord | undefined;
  /**
   * More idempotency records the commit writes, without checking them: a later commit under one
   * of these keys answers `duplicate`. An engagement decision committed with its triggering call
   * records its own key this way, so a redelivered trigger never gets a second decision.
   */
  readonly alsoRecorded?: readonly IdempotencyRecord[] | undefined;
  readonly streams: readonly StreamAppend[];
  readonly claims: readonly ClaimOp[];
};

export type CommitResult =
  | { readonly status: 'committed'; readonly versions: Readonly<Record<string, number>> }
  /** the idempotency key was already recorded; nothing changed */
  | { readonly status: 'duplicate'; readonly payloadHash: string }
  | {
      readonly status: 'conflict';
      readonly current: {
        readonly streams: Readonly<Record<string, number>>;
        readonly claims: Readonly<Record<string, string | null>>;
      };
    };

export type ReadAllPage = { readonly events: readonly StoredEvent[]; readonly next?: string | undefined };
export type ReadAllOptions = { readonly after?: string | undefined; readonly limit: number; readonly settled?: boolean | undefined };

export interface EventStore {
  /**
   * true: `readAll` shows every committed event, in commit order, as soon as its commit has
   * returned (no index that lags), so a reader can go on from the last position it read and miss
   * nothing (memory, SQLite)
   */
  readonly logInCommitOrder?: boolean | undefined;
  /** false: the store refuses a commit with `alsoRecorded` (it records one idempotency key per commit) */
  readonly alsoRecords?: boolean | undefined;
  commit(commit: Commit): Promise<CommitResult>;
  /** events of one stream with version > afterVersion, in version order */
  readStream(tenant: string, streamId: string, afterVersion?: number): Promise<readonly StoredEvent[]>;
  /** current owner of each claimed key; unclaimed keys are absent */
  readClaims(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /**
   * the tenant's whole log in commit order, a page at a time. `settled`: only the events no commit
   * still on its way can come before, so that a reader that moves a checkpoint over what it read
   * never passes an event that becomes visible later (a store whose log is in commit order,
   * `logInCommitOrder`, shows every event settled; DynamoDB reads behind its settle horizon)
   */
  readAll(tenant: string, options: ReadAllOptions): Promise<ReadAllPage>;
  /**
   * The tenant's newest `limit` events (all of them when it holds fewer), in commit order. Absent
   * where the store cannot read its log from the end (DynamoDB, EventStoreDB): a reader of recent
   * activity then reads from the start and says so.
   */
  readLast?(tenant: string, limit: number): Promise<readonly StoredEvent[]>;
  getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined>;
  /**
   * Removes the `pii` of the named events of one stream from the store, every other field kept
   * (version, event id, type, data, position): for the events an unmerge gave to another customer,
   * whose copies there are encrypted under that customer's key, so that the originals stop holding
   * that person's personal data under this customer's key. Idempotent: an id the stream does not
   * hold, or an event without pii, is left as it is. Answers how many events lost their pii in this
   * call. Absent where stored events cannot be changed (EventStoreDB): callers must say so.
   */
  redactPii?(tenant: string, streamId: string, eventIds: readonly string[]): Promise<number>;
}

/** Store-level limits every adapter enforces the same way (DynamoDB's are the tightest). */
export const COMMIT_LIMITS = { maxItems: 100, maxBytes: 4_000_000, maxItemBytes: 400_000 } as const;

/** A readAll `after` that is not a position of the store asked (another store's, or no position at all). */
export class NotAPosition extends Error {
  constructor(readonly position: string) {
    super(`not a position of this store: ${position}`);
    this.name = 'NotAPosition';
  }
}
