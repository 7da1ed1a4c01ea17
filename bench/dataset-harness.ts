import { makeHarness, type Harness } from '../test/support/harness.js';

/**
 * The in-memory core with its clock an hour past the data set's last call. The harness's clock
 * starts at 2026-01-01, and the generated data runs past it: ingest refuses a call stamped more
 * than 24 h after it was received, so without this a third of a year of calls would be measured as
 * quarantine writes rather than ingests.
 */
export const harnessAfter = (calls: readonly Record<string, unknown>[]): Harness => {
  const h = makeHarness();
  let last = h.clock.now();
  for (const c of calls) {
    const t = typeof c.timestamp === 'string' ? Date.parse(c.timestamp) : Number.NaN;
    if (t > last) last = t;
  }
  h.clock.time = last + 3_600_000;
  return h;
};
