// A token bucket per credential: `rate` tokens a second, holding at most two seconds' worth, so a
// client may burst briefly but not sustain more than its rate. Time comes from the injected clock.

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

type Bucket = { tokens: number; at: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number) {}

  take(key: string, ratePerSecond: number): RateDecision {
    if (!(ratePerSecond > 0)) return { allowed: false, retryAfterSeconds: 60 };
    const capacity = ratePerSecond * 2;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + (Math.max(0, now - b.at) / 1000) * ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond)) };
  }
}
