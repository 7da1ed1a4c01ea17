import { TurnCollector } from './dynamodb.turn-collector.js';

// Which writes share a transaction, and when each transaction may go (event store commits, data
// key creations). DynamoDB refuses a transaction that touches one item twice, so writes touching
// the same partition key (a stream, a claim, an idempotency record, a data key) never share one:
// the later arrival goes to a later group, and that group waits until the earlier one has settled,
// so writes to one key happen in arrival order. Groups sharing no key go at once. Keys stay
// reserved while their group is in flight, so a later turn's write to the same key waits for it
// too (no transaction of ours cancels another of ours).

export type Sized = {
  /** partition keys of every item the write puts, deletes or checks */
  readonly touched: readonly string[];
  /** transaction items it needs */
  readonly size: number;
  /** DynamoDB's size of its items */
  readonly bytes: number;
  /** must be sent on its own (a commit that needs reads before its transaction) */
  readonly solo: boolean;
};

export type GroupLimits = { readonly maxItems: number; readonly maxBytes: number };

type Forming<M> = { readonly members: M[]; size: number; bytes: number; readonly solo: boolean };

/**
 * Splits writes (in arrival order) into groups within the limits: each goes to the first group
 * after every group holding a write it shares a key with, that has room for it.
 */
export const formGroups = <M extends Sized>(members: readonly M[], limits: GroupLimits): M[][] => {
  const groups: Forming<M>[] = [];
  const lastGroupOf = new Map<string, number>();
  for (const m of members) {
    let earliest = 0;
    for (const k of m.touched) earliest = Math.max(earliest, (lastGroupOf.get(k) ?? -1) + 1);
    let index = -1;
    if (!m.solo) {
      for (let i = earliest; i < groups.length && index === -1; i++) {
        const g = groups[i]!;
        if (!g.solo && g.size + m.size <= limits.maxItems && g.bytes + m.bytes <= limits.maxBytes) index = i;
      }
    }
    if (index === -1) {
      index = groups.push({ members: [], size: 0, bytes: 0, solo: m.solo }) - 1;
    }
    const g = groups[index]!;
    g.members.push(m);
    g.size += m.size;
    g.bytes += m.bytes;
    for (const k of m.touched) lastGroupOf.set(k, index);
  }
  return groups.map((g) => g.members);
};

export type GroupSchedulerOptions = GroupLimits & { readonly windowMs: number };

/** Collects writes per turn, forms groups, and sends each group once the groups it depends on have settled. */
export class GroupScheduler<M extends Sized> {
  /** groups sent, and the writes they carried */
  readonly stats = { groups: 0, members: 0, largestGroup: 0 };
  private readonly collector: TurnCollector<M>;
  /** per partition key, the last group touching it that has not settled yet */
  private readonly latest = new Map<string, Promise<void>>();

  constructor(
    /** sends one group and settles every member; never rejects */
    private readonly send: (group: readonly M[]) => Promise<void>,
    private readonly options: GroupSchedulerOptions,
  ) {
    // never sent early by size: a batch cut at a transaction's worth of items would leave its
    // last commits in a transaction of their own; the whole turn packs tighter
    this.collector = new TurnCollector<M>((batch) => this.schedule(batch), { windowMs: options.windowMs, full: () => false });
  }

  submit(member: M): void {
    this.collector.add(member);
  }

  private schedule(batch: readonly M[]): void {
    for (const group of formGroups(batch, this.options)) {
      const keys = new Set(group.flatMap((m) => m.touched));
      const before = new Set<Promise<void>>();
      for (const k of keys) {
        const p = this.latest.get(k);
        if (p) before.add(p);
      }
      this.stats.groups++;
      this.stats.members += group.length;
      this.stats.largestGroup = Math.max(this.stats.largestGroup, group.length);
      const done: Promise<void> = (before.size === 0 ? this.send(group) : Promise.allSettled(before).then(() => this.send(group))).finally(() => {
        for (const k of keys) if (this.latest.get(k) === done) this.latest.delete(k);
      });
      for (const k of keys) this.latest.set(k, done);
    }
  }
}
