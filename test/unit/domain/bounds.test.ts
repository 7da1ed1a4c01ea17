import { describe, expect, it, vi } from 'vitest';
import {
  amountProblem,
  currencyCode,
  formatMinorUnits,
  isCalendarDateTime,
  isoTimeMs,
  MAX_AMOUNT,
  MAX_CLOCK_SKEW_MS,
  minorDigits,
  observedAtProblem,
  OBSERVED_AT_FLOOR,
  quantityProblem,
  toMinorUnits,
} from '../../../src/domain/shared/bounds.js';

describe('input bounds', () => {
  it('reads a date-time without an offset as UTC, whatever the time zone of the process', () => {
    try {
      for (const tz of ['America/New_York', 'Asia/Kolkata', 'UTC']) {
        vi.stubEnv('TZ', tz);
        expect(isoTimeMs('2025-01-01T10:00:00'), tz).toBe(Date.UTC(2025, 0, 1, 10));
        expect(isoTimeMs('2025-01-01 10:00'), tz).toBe(Date.UTC(2025, 0, 1, 10));
        expect(isoTimeMs('2025-07-01T10:00:00.250'), tz).toBe(Date.UTC(2025, 6, 1, 10, 0, 0, 250));
        // an offset is kept, a date alone is midnight UTC
        expect(isoTimeMs('2025-01-01T10:00:00+05:30'), tz).toBe(Date.UTC(2025, 0, 1, 4, 30));
        expect(isoTimeMs('2025-01-01T10:00:00Z'), tz).toBe(Date.UTC(2025, 0, 1, 10));
        expect(isoTimeMs('2025-01-01'), tz).toBe(Date.UTC(2025, 0, 1));
        expect(isCalendarDateTime('2025-01-01T10:00:00'), tz).toBe(true);
      }
      // the zone did change what Date.parse reads (the test would prove nothing otherwise)
      vi.stubEnv('TZ', 'America/New_York');
      expect(Date.parse('2025-01-01T10:00:00')).toBe(Date.UTC(2025, 0, 1, 15));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('knows which ISO dates exist', () => {
    for (const ok of ['2024-02-29', '2000-02-29', '0000-02-29', '0004-02-29', '2024-02-29T23:59:59.999Z', '2000-01-01T00:00:00+05:30', '2026-12-31 08:00'])
      expect(isCalendarDateTime(ok), ok).toBe(true);
    for (const bad of [
      '2024-02-30',
      '2023-02-29',
      '1900-02-29',
      '2100-02-29',
      '0100-02-29',
      '2024-13-01',
      '2024-06-31T00:00Z',
      '2024-01-01T25:00:00Z',
      '2024-01-01T10:60Z',
      'Dec 5 2026',
      '',
    ]) {
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

  it('accepts whole quantities from 0 to the bound, never a fraction', () => {
    expect([0, 1, 2, 1_000_000].map(quantityProblem)).toEqual([undefined, undefined, undefined, undefined]);
    expect([1.5, 0.4, 2.000001].map(quantityProblem)).toEqual(['must be a whole number', 'must be a whole number', 'must be a whole number']);
    expect([-1, 1_000_001, Number.NaN].map((n) => quantityProblem(n) !== undefined)).toEqual([true, true, true]);
  });

  it('knows the ISO 4217 minor units of a currency, where Intl (CLDR) says otherwise too', () => {
    expect(['USD', 'EUR', 'JPY', 'KRW', 'CLP', 'BHD', 'KWD', 'JOD', 'OMR', 'TND', 'LYD', 'IQD', 'CLF', 'UYW', 'HUF', 'LBP', 'ISK'].map(minorDigits)).toEqual([
      2, 2, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 4, 4, 2, 2, 0,
    ]);
  });

  it('counts an amount in minor units exactly, forgiving binary floating point', () => {
    expect(toMinorUnits(19.99, 2)).toBe(1999);
    expect(toMinorUnits(0.1 + 0.2, 2)).toBe(30);
    expect(toMinorUnits(1.005, 3)).toBe(1005);
    expect(toMinorUnits(100, 0)).toBe(100);
    expect(toMinorUnits(1.234, 3)).toBe(1234);
    expect(toMinorUnits(0.0001, 4)).toBe(1);
    expect(toMinorUnits(MAX_AMOUNT, 4)).toBe(MAX_AMOUNT * 10_000);
    expect(toMinorUnits(999_999_999.99, 2)).toBe(99_999_999_999);
  });

  it('refuses an amount with more decimals than the currency has, rather than rounding it', () => {
    expect(toMinorUnits(100.5, 0)).toBeUndefined();
    expect(toMinorUnits(19.999, 2)).toBeUndefined();
    // 1.005 x 100 is 100.49999999999999: neither 100 nor 101 cents is 1.005
    expect(toMinorUnits(1.005, 2)).toBeUndefined();
    expect(toMinorUnits(1.2345, 3)).toBeUndefined();
    expect(toMinorUnits(0.001, 2)).toBeUndefined();
    expect(toMinorUnits(999_999_999.999, 2)).toBeUndefined();
  });

  it("writes minor units in the currency's digits", () => {
    expect(formatMinorUnits(150, 'USD')).toBe('1.50');
    expect(formatMinorUnits(100, 'JPY')).toBe('100');
    expect(formatMinorUnits(1500, 'BHD')).toBe('1.500');
    expect(formatMinorUnits(1, 'CLF')).toBe('0.0001');
  });
});
