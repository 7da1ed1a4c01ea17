import type { Notification, Notifier } from '../../application/ports/notifier.port.js';

/**
 * Notifications kept in memory: the embedded default when no SNS topic is configured, and tests.
 * Every publish is kept in order, repeats included (at-least-once, like a topic). `failNext`
 * makes the next publishes throw, as an unreachable SNS would. What is kept is the notification's
 * own fields, copied one by one as the SNS message body is built: nothing else the object may carry
 * (personal data) is kept, and later changes to the object do not reach what was published.
 */
export class MemoryNotifier implements Notifier {
  readonly published: Notification[] = [];
  private failures = 0;
  private attempts = 0;

  async publish(notification: Notification): Promise<void> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`notifier unavailable (simulated); decision ${notification.decisionId} not published`);
    }
    const n = notification;
    this.published.push({
      decisionId: n.decisionId,
      tenant: n.tenant,
      customerId: n.customerId,
      channel: n.channel,
      offerId: n.offerId,
      offerTitle: n.offerTitle,
      decidedAt: n.decidedAt,
    });
  }

  failNext(times = 1): void {
    this.failures += times;
  }

  /** publish calls so far, failed ones included */
  get calls(): number {
    return this.attempts;
  }

  /** each decision once, in first-published order: what a subscriber that drops repeats sees */
  decisions(): Notification[] {
    return [...new Map(this.published.map((n) => [n.decisionId, n])).values()];
  }
}
