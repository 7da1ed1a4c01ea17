import type { IdentityChange, IdentityFeed } from '../../application/ports/identity-feed.port.js';

/** The change's own fields and nothing else (the port promises no personal data), as SNS sends it. */
const fieldsOf = (c: IdentityChange): IdentityChange => {
  switch (c.type) {
    case 'merged':
      return { id: c.id, tenant: c.tenant, type: c.type, at: c.at, survivorId: c.survivorId, absorbedId: c.absorbedId, mergeId: c.mergeId };
    case 'unmerged':
      return { id: c.id, tenant: c.tenant, type: c.type, at: c.at, survivorId: c.survivorId, restoredId: c.restoredId, mergeId: c.mergeId };
    case 'erased':
      return { id: c.id, tenant: c.tenant, type: c.type, at: c.at, customerId: c.customerId, erasureId: c.erasureId };
  }
};

/**
 * The identity change feed in memory, for tests and embedding: every publish is kept in order,
 * repeats included (like a topic, it is at-least-once). `failNext` makes the next publishes throw,
 * to exercise the caller's redelivery. Each change is kept as its own fields, copied one by one:
 * nothing else the object may carry (personal data) is kept.
 */
export class MemoryIdentityFeed implements IdentityFeed {
  readonly published: IdentityChange[] = [];
  private failures = 0;

  async publish(changes: readonly IdentityChange[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`identity feed unavailable (simulated); ${changes.length} changes not published`);
    }
    this.published.push(...changes.map(fieldsOf));
  }

  failNext(times = 1): void {
    this.failures += times;
  }

  /** each change once, by id, in first-published order: what a subscriber that drops repeats sees */
  changes(): IdentityChange[] {
    return [...new Map(this.published.map((c) => [c.id, c])).values()];
  }
}
