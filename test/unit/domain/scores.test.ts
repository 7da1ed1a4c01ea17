import { describe, expect, it } from 'vitest';
import { emptyView, type Customer360 } from '../../../src/domain/projection/customer360.js';
import { computeScores, DEFAULT_SCORE_CONFIG, ScoreConfig, type Scores } from '../../../src/domain/projection/scores.js';
import { DAY, T0 } from '../../support/decider-spec.js';

// Fixed thresholds: recency <= 30/90/180/365 days scores 5/4/3/2, frequency >= 1/2/4/8 orders
// scores 2/3/4/5, monetary >= 50/200/500/1000 USD scores 2/3/4/5.
const NOW = T0 + 1000 * DAY;

const buyer = (o: {
  count: number;
  usdMinor?: number;
  eurMinor?: number;
  usdOrders?: number;
  firstDaysAgo?: number;
  lastDaysAgo: number;
  seenDaysAgo?: number;
}): Customer360 => ({
  ...emptyView('c'),
  lastSeenAt: NOW - (o.seenDaysAgo ?? o.lastDaysAgo) * DAY,
  orders: {
    count: o.count,
    revenueMinor: { ...(o.usdMinor === undefined ? {} : { USD: o.usdMinor }), ...(o.eurMinor === undefined ? {} : { EUR: o.eurMinor }) },
    countByCurrency: {
      ...(o.usdMinor === undefined ? {} : { USD: o.usdOrders ?? (o.eurMinor === undefined ? o.count : 1) }),
      ...(o.eurMinor === undefined ? {} : { EUR: o.count - (o.usdOrders ?? (o.usdMinor === undefined ? 0 : 1)) }),
    },
    firstOrderAt: NOW - (o.firstDaysAgo ?? o.lastDaysAgo) * DAY,
    lastOrderAt: NOW - o.lastDaysAgo * DAY,
  },
});
const scores = (view: Customer360, now = NOW, config = DEFAULT_SCORE_CONFIG): Scores => computeScores(view, now, config);
const rfm = (view: Customer360) => {
  const { recency, frequency, monetary, segment } = scores(view).rfm;
  return [recency, frequency, monetary, segment];
};

describe('RFM at fixed thresholds', () => {
  it('scores recency, frequency and monetary value on the configured boundaries', () => {
    expect(rfm(buyer({ count: 8, usdMinor: 100_000, lastDaysAgo: 30 }))).toEqual([5, 5, 5, 'Champions']);
    expect(rfm(buyer({ count: 7, usdMinor: 99_999, lastDaysAgo: 31 }))).toEqual([4, 4, 4, 'Champions']);
    expect(rfm(buyer({ count: 1, usdMinor: 4_999, lastDaysAgo: 366 }))).toEqual([1, 2, 1, 'Lost']);
  });

  it('names the segments', () => {
    const cases: [Parameters<typeof buyer>[0], string][] = [
      [{ count: 4, lastDaysAgo: 120 }, 'Loyal'],
      [{ count: 1, lastDaysAgo: 10 }, 'New Customers'],
      [{ count: 2, lastDaysAgo: 10 }, 'Potential Loyalists'],
      [{ count: 1, lastDaysAgo: 120 }, 'Promising'],
      [{ count: 2, lastDaysAgo: 120 }, 'Need Attention'],
      [{ count: 1, lastDaysAgo: 200 }, 'Hibernating'],
      [{ count: 2, lastDaysAgo: 200 }, 'At Risk'],
      [{ count: 4, lastDaysAgo: 200 }, 'At Risk'],
      [{ count: 4, lastDaysAgo: 400 }, 'Cannot Lose Them'],
    ];
    for (const [o, segment] of cases) expect(scores(buyer(o)).rfm.segment, JSON.stringify(o)).toBe(segment);
  });

  it('calls a customer without orders a prospect', () => {
    const s = scores({ ...emptyView('c'), lastSeenAt: NOW - DAY });
    expect(s.rfm).toEqual({ recency: 1, frequency: 1, monetary: 1, segment: 'Prospect' });
    expect([s.clvMinor, s.averageOrderValueMinor, s.daysSinceLastOrder]).toEqual([0, 0, undefined]);
  });

  it('follows configured thresholds, not the population', () => {
    const strict = ScoreConfig.parse({ ...DEFAULT_SCORE_CONFIG, recencyDays: [1, 2, 3, 4] });
    expect(computeScores(buyer({ count: 1, lastDaysAgo: 10 }), NOW, strict).rfm.recency).toBe(1);
  });
});

describe('churn risk', () => {
  it('grows for a repeat buyer once the gap since the last order outgrows their usual interval', () => {
    // two orders 30 days apart: the usual interval is 30 days
    const at = (lastDaysAgo: number) => scores(buyer({ count: 2, firstDaysAgo: lastDaysAgo + 30, lastDaysAgo })).churnRisk;
    expect(at(10)).toBe(0);
    expect(at(30)).toBe(0);
    expect(at(60)).toBeCloseTo(1 - Math.exp(-1), 3);
    expect(at(90)).toBeGreaterThan(at(60));
    expect(at(300)).toBeLessThanOrEqual(1);
  });

  it('grows with inactivity for a customer with fewer than two orders, full after the configured days', () => {
    const seen = (days: number) => scores({ ...emptyView('c'), lastSeenAt: NOW - days * DAY }).churnRisk;
    expect([seen(0), seen(45), seen(90), seen(400)]).toEqual([0, 0.5, 1, 1]);
    expect(scores(buyer({ count: 1, lastDaysAgo: 100, seenDaysAgo: 9 })).churnRisk).toBe(0.1);
  });
});

describe('customer lifetime value', () => {
  it('is the revenue in the configured currency, other currencies aside', () => {
    const view = buyer({ count: 3, usdMinor: 12_345, eurMinor: 99_000, lastDaysAgo: 5 });
    expect(scores(view)).toMatchObject({ clvMinor: 12_345, currency: 'USD' });
    expect(computeScores(view, NOW, { ...DEFAULT_SCORE_CONFIG, currency: 'EUR' })).toMatchObject({ clvMinor: 99_000, currency: 'EUR' });
  });

  it('averages order value over the orders in the configured currency only', () => {
    // one USD order of 123.45 and two EUR orders
    const view = buyer({ count: 3, usdMinor: 12_345, eurMinor: 99_000, usdOrders: 1, lastDaysAgo: 5 });
    expect(scores(view).averageOrderValueMinor).toBe(12_345);
    expect(computeScores(view, NOW, { ...DEFAULT_SCORE_CONFIG, currency: 'EUR' }).averageOrderValueMinor).toBe(49_500);
  });

  it('reports whole days since the last order and last activity', () => {
    const s = scores(buyer({ count: 1, usdMinor: 100, lastDaysAgo: 12.7, seenDaysAgo: 3.2 }));
    expect([s.daysSinceLastOrder, s.daysSinceLastSeen]).toEqual([12, 3]);
  });
});
