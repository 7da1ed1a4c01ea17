import type { IdentityChange, IdentityFeed } from '../../application/ports/identity-feed.port.js';

/**
 * The identity change feed in memory, for tests and embedding: every publish is kept in order,
 * repeats included (like a topic, it is at-least-once). `failNext` makes the next publishes throw,
 * to exercise the caller's redelivery.
 */
export class MemoryIdentityFeed implements IdentityFeed {
  readonly published: IdentityChange[] = [];
  private failures = 0;

  async publish(changes: readonly IdentityChange[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`identity feed unavailable (simulated); ${changes.length} changes not published`);
    }
    this.published.push(...changes);
  }

  failNext(times = 1): void {
    this.failures += times;
  }

  /** each change once, by id, in first-published order: what a subscriber that drops repeats sees */
  changes(): IdentityChange[] {
    return [...new Map(this.published.map((c) => [c.id, c])).values()];
  }
}
