import type { Notification } from './notifier.port.js';

// The engagement outbox: every 'sent' decision's notification until the notifier acknowledged it.
// An entry is staged (unconfirmed) just before the decision event's commit and confirmed by the
// first publish attempt after it; the relay confirms a left-over unconfirmed entry against the log
// (the event is there: publish; it never got there: discard). So no stored decision is ever left
// unpublished, and no notification goes out for a decision that was not stored.

export type OutboxEntry = {
  readonly tenant: string;
  readonly decisionId: string;
  /** the stream the decision event goes to, the version it is committed at, and its event id */
  readonly customerId: string;
  readonly version: number;
  readonly eventId: string;
  readonly notification: Notification;
  readonly status: 'pending' | 'published';
  /** false until the decision event is known to be committed */
  readonly confirmed: boolean;
  /** failed publish attempts so far */
  readonly attempts: number;
  readonly createdAt: number;
  /** epoch ms; a pending entry is due for the relay from then */
  readonly nextAttemptAt: number;
  readonly publishedAt?: number | undefined;
  /** the last failure, for operators: an error message, never a payload */
  readonly lastError?: string | undefined;
};

export type OutboxRetry = {
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly confirmed: boolean;
  readonly lastError?: string | undefined;
};

export interface Outbox {
  /**
   * Writes an unconfirmed pending entry, replacing an unconfirmed one with the same decision id (a
   * retried commit). Returns false, writing nothing, when a confirmed or published one exists.
   */
  stage(entry: OutboxEntry): Promise<boolean>;
  get(tenant: string, decisionId: string): Promise<OutboxEntry | undefined>;
  /** pending entries with nextAttemptAt <= now, every tenant, earliest due first */
  due(now: number, limit: number): Promise<readonly OutboxEntry[]>;
  /** a pending entry's next attempt; nothing happens to a published or missing one */
  reschedule(tenant: string, decisionId: string, retry: OutboxRetry): Promise<void>;
  markPublished(tenant: string, decisionId: string, at: number): Promise<void>;
  /**
   * removes a pending entry: an unconfirmed one whose decision was never committed, or (`erased`)
   * any pending one of an erased customer; a published one stays
   */
  discard(tenant: string, decisionId: string, why?: 'uncommitted' | 'erased'): Promise<void>;
}
