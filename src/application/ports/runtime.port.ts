export interface Clock {
  now(): number;
}

export interface IdGenerator {
  /** time-ordered, never reused (UUIDv7) */
  customerId(): string;
  /** a fresh random id (quarantine entries, receipts) */
  newId(): string;
}

export type MetricName =
  | 'ingest_accepted'
  | 'ingest_duplicate'
  | 'ingest_quarantined'
  | 'identity_merge'
  | 'identity_rejected'
  | 'identity_cluster_guard_tripped'
  | 'commit_conflict_retry'
  | 'projection_gap_reread'
  | 'projection_duplicate_skipped'
  | 'projection_conflict_retry'
  | 'projection_rejected'
  /** inline projection failed after a commit: the next event's gap re-read or a rebuild repairs it */
  | 'projection_failed'
  /** a snapshot could not be read or did not fit its stream: the load folded from the start */
  | 'snapshot_ignored'
  /** a load could not save its snapshot: the load still succeeded, the next one folds more */
  | 'snapshot_write_failed'
  /** a write's before-commit step (engagement decided within the call's commit) failed or its after-commit part did: the write committed without it */
  | 'annex_failed'
  /** engagement (issue 6): decisions recorded, skipped (stale trigger), repeats, failures */
  | 'engagement_sent'
  | 'engagement_suppressed'
  | 'engagement_skipped'
  | 'engagement_duplicate'
  | 'engagement_failed'
  /** notifications acknowledged, failed (retried by the relay), never-committed entries dropped */
  | 'engagement_published'
  | 'engagement_publish_failed'
  | 'engagement_outbox_discarded'
  /**
   * probabilistic matching (issue 19): the match book rebuilt (a model fitted), an entry another
   * process changed first (read again), keeping the book failed after a commit (a rebuild repairs
   * it), auto-merges made and refused (a rule stood in the way)
   */
  | 'match_book_rebuilt'
  | 'match_book_refit_for_field'
  | 'match_book_refit_due'
  | 'match_book_conflict'
  | 'match_book_failed'
  | 'match_auto_merged'
  | 'match_auto_merge_refused'
  /**
   * DynamoDB Streams projection on the local poller (Lambda emits the same names as EMF): records
   * handed to the projector, records refused for good (logged as 'stream record rejected' with the
   * reason), records reported for redelivery
   */
  | 'streams_records'
  | 'streams_records_rejected'
  | 'streams_records_failed';

export interface Metrics {
  increment(name: MetricName, value?: number): void;
}
