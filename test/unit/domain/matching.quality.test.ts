import { describe, expect, it } from 'vitest';
import { exactBaseline, fitOn, loadFebrl, naturalKey, qualityAt, scoreBlocked } from '../../support/linkage.js';

// A quality test, not a timing test: the model is fitted (u from random pairs, m by EM, no labels)
// on FEBRL data set 1 only, and the goals are checked on data sets 2 and 3, never on the
// data it was fitted on. Labels are read only to count true and false pairs.

describe.each([
  { nationalId: true, label: 'with soc_sec_id' },
  { nationalId: false, label: 'without soc_sec_id' },
])('held-out FEBRL quality, $label', ({ nationalId }) => {
  const model = fitOn(loadFebrl(1, { nationalId }), { version: 'febrl-1' });

  it.each([2, 3] as const)('data set %i meets the goals at both thresholds and beats the exact-match baseline', (n) => {
    const data = loadFebrl(n, { nationalId });
    const { scored, truePairs } = scoreBlocked(model, data);
    const auto = qualityAt(scored, truePairs, model.autoMergeThreshold);
    const review = qualityAt(scored, truePairs, model.reviewThreshold);
    const baseline = exactBaseline(data, (r) => [nationalId ? r.nationalId : naturalKey(r)]);

    expect(auto.precision).toBeGreaterThanOrEqual(0.99);
    if (nationalId) {
      expect(review.precision).toBeGreaterThanOrEqual(0.95);
      expect(review.f1).toBeGreaterThanOrEqual(0.95);
    } else {
      expect(review.f1).toBeGreaterThanOrEqual(0.85);
    }
    expect(review.f1).toBeGreaterThan(baseline.f1);
  });
});
