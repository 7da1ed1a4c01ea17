// The log positions one process committed, as ascending [first, last] ranges: the log follower
// skips them, since that process projected them inline. Bounded: a range dropped from the front
// is only projected once more, which is harmless (projection skips what it has applied).

const MAX_RANGES = 4_096;

export class PositionRanges {
  private ranges: [number, number][] = [];

  add(first: number, last: number): void {
    const tail = this.ranges.at(-1);
    if (tail && tail[1] + 1 === first)
      tail[1] = last; // one writer: the ranges join up
    else this.ranges.push([first, last]);
    if (this.ranges.length > MAX_RANGES) this.ranges.splice(0, this.ranges.length - MAX_RANGES);
  }

  has(position: number): boolean {
    return this.indexOf(position) >= 0;
  }

  /** The range holding `position`, or -1. */
  private indexOf(position: number): number {
    // positions only grow, so the ranges are ascending: the last range starting at or before it
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ranges[mid]![0] <= position) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && position <= this.ranges[hi]![1] ? hi : -1;
  }

  /** The last position of the run of held positions right after `after` (`after` itself when the next one is not held). */
  heldThrough(after: number): number {
    let at = after;
    for (;;) {
      const i = this.indexOf(at + 1);
      if (i < 0) return at;
      at = this.ranges[i]![1];
    }
  }

  /** Drops every range that ends at or before `position`. */
  forgetUpTo(position: number): void {
    if (this.ranges.length > 0 && this.ranges[0]![0] <= position) this.ranges = this.ranges.filter(([, last]) => last > position);
  }
}
