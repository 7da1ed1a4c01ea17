import { z } from 'zod';
import type { Customer360 } from './customer360.js';

// Read-time scores: computed from stored facts, the clock and configured thresholds, never from
// population quantiles, so erasing one customer changes no other customer's scores.

// built on first parse, not at import (a Lambda's cold start builds no schema it does not use)
const scoreConfigSchema = () => {
  const Ascending = z
    .array(z.number().nonnegative())
    .length(4)
    .refine((t) => t.every((x, i) => i === 0 || x > t[i - 1]!), 'thresholds must ascend');

  const ScoreConfig = z.object({
    /** ISO currency whose revenue counts as CLV and monetary value. */
    currency: z.string().length(3),
    /** days since last order at or below which recency scores 5, 4, 3, 2 */
    recencyDays: Ascending,
    /** order counts at or above which frequency scores 2, 3, 4, 5 */
    frequencyOrders: Ascending,
    /** lifetime revenue (minor units) at or above which monetary scores 2, 3, 4, 5 */
    monetaryMinor: Ascending,
    /** days without activity after which a customer with fewer than two orders is fully at risk */
    churnInactiveDays: z.number().positive(),
  });
  return ScoreConfig;
};
export const ScoreConfig = z.lazy(scoreConfigSchema);
export type ScoreConfig = z.infer<ReturnType<typeof scoreConfigSchema>>;

export const DEFAULT_SCORE_CONFIG: ScoreConfig = {
  currency: 'USD',
  recencyDays: [30, 90, 180, 365],
  frequencyOrders: [1, 2, 4, 8],
  monetaryMinor: [5_000, 20_000, 50_000, 100_000],
  churnInactiveDays: 90,
};

export type Rfm = { readonly recency: number; readonly frequency: number; readonly monetary: number; readonly segment: string };
export type Scores = {
  readonly clvMinor: number;
  readonly currency: string;
  readonly averageOrderValueMinor: number;
  readonly rfm: Rfm;
  readonly churnRisk: number;
  readonly daysSinceLastOrder?: number | undefined;
  readonly daysSinceLastSeen?: number | undefined;
};

const DAY = 86_400_000;

const scoreDown = (value: number, t: readonly number[]): number => {
  for (let i = 0; i < t.length; i++) if (value <= t[i]!) return 5 - i;
  return 1;
};
const scoreUp = (value: number, t: readonly number[]): number => {
  let s = 1;
  for (let i = 0; i < t.length; i++) if (value >= t[i]!) s = i + 2;
  return s;
};

export const rfmSegment = (r: number, f: number, orders: number): string => {
  if (orders === 0) return 'Prospect';
  if (r >= 4 && f >= 4) return 'Champions';
  if (r >= 3 && f >= 4) return 'Loyal';
  if (r >= 4 && f === 2) return 'New Customers';
  if (r >= 4) return 'Potential Loyalists';
  if (r === 3 && f <= 2) return 'Promising';
  if (r === 3) return 'Need Attention';
  if (r <= 2 && f >= 4) return r === 1 ? 'Cannot Lose Them' : 'At Risk';
  if (r === 2) return f >= 3 ? 'At Risk' : 'Hibernating';
  return 'Lost';
};

export const computeScores = (view: Customer360, now: number, config: ScoreConfig): Scores => {
  const orders = view.orders;
  const revenue = orders.revenueMinor[config.currency] ?? 0;
  const daysSinceLastOrder = orders.lastOrderAt === undefined ? undefined : Math.max(0, (now - orders.lastOrderAt) / DAY);
  const daysSinceLastSeen = view.lastSeenAt === undefined ? undefined : Math.max(0, (now - view.lastSeenAt) / DAY);
  const recency = daysSinceLastOrder === undefined ? 1 : scoreDown(daysSinceLastOrder, config.recencyDays);
  const frequency = scoreUp(orders.count, config.frequencyOrders);
  const monetary = scoreUp(revenue, config.monetaryMinor);
  let churnRisk: number;
  if (orders.count >= 2 && orders.firstOrderAt !== undefined && orders.lastOrderAt !== undefined && daysSinceLastOrder !== undefined) {
    // a repeat buyer is at risk once the gap since the last order outgrows their usual interval
    const interval = Math.max(1, (orders.lastOrderAt - orders.firstOrderAt) / DAY / (orders.count - 1));
    churnRisk = 1 - Math.exp(-Math.max(0, daysSinceLastOrder - interval) / interval);
  } else {
    churnRisk = Math.min(1, (daysSinceLastSeen ?? config.churnInactiveDays) / config.churnInactiveDays);
  }
  return {
    clvMinor: revenue,
    currency: config.currency,
    averageOrderValueMinor: Math.round(revenue / Math.max(1, orders.countByCurrency[config.currency] ?? 0)),
    rfm: { recency, frequency, monetary, segment: rfmSegment(recency, frequency, orders.count) },
    churnRisk: Math.round(churnRisk * 1000) / 1000,
    daysSinceLastOrder: daysSinceLastOrder === undefined ? undefined : Math.floor(daysSinceLastOrder),
    daysSinceLastSeen: daysSinceLastSeen === undefined ? undefined : Math.floor(daysSinceLastSeen),
  };
};
