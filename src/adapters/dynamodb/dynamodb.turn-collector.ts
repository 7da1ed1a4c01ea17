// Collects what arrives in one event-loop turn, so the calls of a /v1/batch (decided concurrently,
// each reaching the store in the same turn) share requests. setImmediate, not a microtask: it runs
// after the poll phase, so calls resumed by every I/O callback of this turn join (the SQLite store
// measured the difference). A call that arrives alone goes at the end of its turn, never later;
// when several arrived together, the batch may wait `windowMs` more for the stragglers of the same
// wave (answers to one request of many arrive over a few turns), unless it is already full.

export type TurnCollectorOptions<T> = {
  /** extra wait after a turn that collected more than one entry; 0: never wait */
  readonly windowMs: number;
  /** a batch that needs nothing more goes at once */
  readonly full: (pending: readonly T[]) => boolean;
};

export class TurnCollector<T> {
  private pending: T[] = [];
  private turn: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (batch: T[]) => void,
    private readonly options: TurnCollectorOptions<T>,
  ) {}

  add(entry: T): void {
    this.pending.push(entry);
    if (this.options.full(this.pending)) {
      this.flush();
      return;
    }
    this.turn ??= setImmediate(() => {
      this.turn = undefined;
      if (this.timer) return; // already waiting for stragglers
      if (this.pending.length > 1 && this.options.windowMs > 0) this.timer = setTimeout(() => this.flush(), this.options.windowMs);
      else this.flush();
    });
  }

  private flush(): void {
    if (this.turn) clearImmediate(this.turn);
    if (this.timer) clearTimeout(this.timer);
    this.turn = this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.send(batch);
  }
}
