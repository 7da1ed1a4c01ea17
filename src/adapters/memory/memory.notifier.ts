import type { Notification, Notifier } from '../../application/ports/notifier.port.js';

/**
 * Notifications kept in memory: the embedded default when no SNS topic is configured, and tests.
 * Every publish is kept in order, repeats included (at-least-once, like a topic). `failNext`
 * makes the next publishes throw, as an unreachable SNS would.
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
    this.published.push(notification);
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
