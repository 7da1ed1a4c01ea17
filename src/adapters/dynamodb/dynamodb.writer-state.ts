import { randomBytes } from 'node:crypto';
import { commitStamp } from './dynamodb.event-item.js';

// What one event store instance remembers between commits. Both are only ever safe to act on:
// a stamp never goes backwards, and a version once seen to exist exists forever (the log is
// append-only; erasure shreds keys, it deletes no event).

/** Commit stamps of this writer: never decreasing even if the wall clock steps back. */
export class CommitStamps {
  private readonly writer = randomBytes(4).toString('hex');
  private last = 0;
  private counter = 0;
  next(): string {
    // the wall clock, not the store's injected clock: positions order real commits across writers
    this.last = Math.max(Date.now(), this.last);
    return commitStamp(this.last, this.writer, ++this.counter);
  }
}

/**
 * The highest version seen to exist per stream (from reads, commits and conflicts), bounded. When
 * a commit's expected version is at or below it, the "expected version exists" check is already
 * proven, so the append needs no ConditionCheck and a single event can take the plain PutItem.
 */
export class KnownVersions {
  private readonly versions = new Map<string, number>();
  constructor(private readonly capacity = 10_000) {}

  saw(tenant: string, streamId: string, version: number): void {
    const key = `${tenant}\u0000${streamId}`;
    const known = this.versions.get(key) ?? 0;
    if (version <= known) return;
    this.versions.delete(key); // re-insert: Map order is recency, the oldest is evicted first
    this.versions.set(key, version);
    if (this.versions.size > this.capacity) this.versions.delete(this.versions.keys().next().value!);
  }

  /** True when the item at `version` is known to exist (version 0 always "exists"). */
  proves(tenant: string, streamId: string, version: number): boolean {
    return version === 0 || (this.versions.get(`${tenant}\u0000${streamId}`) ?? 0) >= version;
  }
}
