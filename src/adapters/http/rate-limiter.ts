// A token bucket per key (a credential, or the client address of requests without one): `rate`
// tokens a second, holding at most two seconds' worth, so a client may burst briefly but not
// sustain more than its rate. A request may cost more than one token (a batch costs one per
// call): it is let through once the bucket holds its cost (or is full, for a cost above the
// capacity) and may leave the bucket in debt, which later requests wait out. Time comes from the
// injected clock.

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** `full`: when the bucket will be full again, after which forgetting it changes nothing */
type Bucket = { tokens: number; at: number; full: number };

/** above this many buckets, the full ones are dropped (one per client address can be many) */
const SWEEP_ABOVE = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAt = SWEEP_ABOVE;

  constructor(private readonly now: () => number) {}

  /** `paid`: tokens this request already took (a batch's request before its calls were counted) */
  take(key: string, ratePerSecond: number, cost = 1, paid = 0): RateDecision {
    if (!(ratePerSecond > 0)) return { allowed: false, retryAfterSeconds: 60 };
    const b = this.refill(key, ratePerSecond);
    const needed = Math.min(cost + paid, ratePerSecond * 2) - paid;
    if (b.tokens >= needed) {
      b.tokens -= cost;
      b.full = b.at + ((ratePerSecond * 2 - b.tokens) / ratePerSecond) * 1000;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((needed - b.tokens) / ratePerSecond)) };
  }

  /** Whether `take` would allow one token now, without taking it. */
  wouldAllow(key: string, ratePerSecond: number): boolean {
    return ratePerSecond > 0 && (this.buckets.get(key) === undefined || this.refill(key, ratePerSecond).tokens >= 1);
  }

  private refill(key: string, ratePerSecond: number): Bucket {
    const capacity = ratePerSecond * 2;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.sweepAt) {
        for (const [k, old] of this.buckets) if (old.full <= now) this.buckets.delete(k);
        // amortized: the next sweep waits until the map has doubled again
        this.sweepAt = Math.max(SWEEP_ABOVE, this.buckets.size * 2);
      }
      this.buckets.set(key, (b = { tokens: capacity, at: now, full: now }));
    }
    b.tokens = Math.min(capacity, b.tokens + (Math.max(0, now - b.at) / 1000) * ratePerSecond);
    b.at = now;
    return b;
  }
}
