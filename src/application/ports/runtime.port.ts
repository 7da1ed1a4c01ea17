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
  | 'projection_rejected';

export interface Metrics {
  increment(name: MetricName, value?: number): void;
}
