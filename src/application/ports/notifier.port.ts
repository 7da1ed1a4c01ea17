// Delivery of engagement decisions (issue 6). The decision event is stored first (the outbox);
// a notification is then published, at least once: `decisionId` lets subscribers drop repeats.
// Ids, channel, offer and times only: a subscriber looks the customer up if it needs more.

export type Notification = {
  readonly decisionId: string;
  readonly tenant: string;
  readonly customerId: string;
  readonly channel: string;
  readonly offerId: string;
  readonly offerTitle: string;
  /** epoch ms */
  readonly decidedAt: number;
};

export interface Notifier {
  /** resolves once the notification is acknowledged; throws when it was not (the caller retries) */
  publish(notification: Notification): Promise<void>;
}
