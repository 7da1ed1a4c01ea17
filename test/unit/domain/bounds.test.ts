import { describe, expect, it } from 'vitest';
import { amountProblem, currencyCode, isCalendarDateTime, MAX_CLOCK_SKEW_MS, observedAtProblem, OBSERVED_AT_FLOOR } from '../../../src/domain/shared/bounds.js';

describe('input bounds', () => {
  it('knows which ISO dates exist', () => {
    for (const ok of ['2024-02-29', '2024-02-29T23:59:59.999Z', '2000-01-01T00:00:00+05:30', '2026-12-31 08:00']) expect(isCalendarDateTime(ok), ok).toBe(true);
    for (const bad of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-06-31T00:00Z', '2024-01-01T25:00:00Z', '2024-01-01T10:60Z', 'Dec 5 2026', '']) {
      expect(isCalendarDateTime(bad), bad).toBe(false);
    }
  });

  it('keeps observation times between the floor and the time received plus the skew', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(observedAtProblem(OBSERVED_AT_FLOOR, now)).toBeUndefined();
    expect(observedAtProblem(now + MAX_CLOCK_SKEW_MS, now)).toBeUndefined();
    expect(observedAtProblem(OBSERVED_AT_FLOOR - 1, now)).toMatch(/before 2000-01-01/);
    expect(observedAtProblem(now + MAX_CLOCK_SKEW_MS + 1, now)).toMatch(/after the time received/);
  });

  it('accepts finite, non-negative amounts up to the bound', () => {
    expect([0, 19.99, 1e9].map(amountProblem)).toEqual([undefined, undefined, undefined]);
    expect([1e308, Number.POSITIVE_INFINITY, Number.NaN, -0.01, 1e9 + 1].map((n) => amountProblem(n) !== undefined)).toEqual([true, true, true, true, true]);
  });

  it('accepts ISO 4217 codes only', () => {
    expect(['usd', ' EUR ', 'jpy', 'ZAR'].map(currencyCode)).toEqual(['USD', 'EUR', 'JPY', 'ZAR']);
    expect(['<script>', 'ABC', 'US', 'USDX', ''].map(currencyCode)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
