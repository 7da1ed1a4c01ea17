// Serializes work in this process per key (claim keys of a call), so concurrent calls about the
// same identifiers queue instead of colliding in optimistic commits. Other processes are still
// kept apart by the store's conditional commits; this only saves wasted retries.

export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    // a single key needs no Set to be unique
    const unique = keys.length < 2 ? keys : [...new Set(keys)];
    // taking every key in one synchronous step means two callers can never wait on each other
    const before = unique.map((k) => this.tails.get(k));
    for (const k of unique) this.tails.set(k, mine);
    try {
      await Promise.all(before);
      return await work();
    } finally {
      release();
      for (const k of unique) if (this.tails.get(k) === mine) this.tails.delete(k);
    }
  }
}
