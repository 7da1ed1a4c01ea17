import { describe, expect, it } from 'vitest';
import {
  ANALYTICS_QUERIES,
  analyticsPageLimit,
  NOW_RANGE,
  oneValueEach,
  parseAnalyticsParams,
  queryParamNames,
} from '../../../src/application/lake/analytics.params.js';
import { DomainError } from '../../../src/domain/shared/errors.js';

// The analytics parameters from raw query-string values: each query takes its own, a bad one is a
// DomainError (400) naming it, with a message a person can act on; nothing reaches the query (or
// throws anything else) that the query cannot run with.

const NOW = Date.UTC(2026, 5, 30);

const refusal = (f: () => unknown): DomainError => {
  try {
    f();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError, but the parameters were accepted');
};

const parse = (query: string, raw: Record<string, string>) => parseAnalyticsParams(query, raw, NOW);

describe('now', () => {
  it('is refused out of the range a date can be written in, naming now and the range, for every query', () => {
    for (const query of ANALYTICS_QUERIES)
      for (const now of ['8640000000000001', '99999999999999999', String(NOW_RANGE.max + 1), '1'.repeat(400)]) {
        const e = refusal(() => parse(query, { now }));
        expect(e.code).toBe('VALIDATION_FAILED');
        expect(e.path).toEqual(['now']);
        expect(e.message).toBe('analytics parameter now: must be between 0 and 253402300799999 (1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z)');
      }
    expect(parse('demand-forecast-base', { now: String(NOW_RANGE.max) }).params).toMatchObject({ now_ms: NOW_RANGE.max, to_date: '9999-12-31' });
  });

  it('refuses a day that does not exist instead of rolling it over, and takes one that does', () => {
    for (const now of ['2026-02-30', '2026-02-29', '2026-13-01', '2026-02-28T24:00:00Z', '2026-04-31T10:00:00Z', '30/06/2026']) {
      const e = refusal(() => parse('churn-risk', { now }));
      expect(e.path, now).toEqual(['now']);
      expect(e.message).toMatch(/^analytics parameter now: must be epoch milliseconds or an ISO 8601 date or time of a day that exists/);
    }
    expect(parse('churn-risk', { now: '2024-02-29' }).params.now_ms).toBe(Date.UTC(2024, 1, 29));
    expect(parse('churn-risk', { now: '2026-06-30T12:00:00Z' }).params.now_ms).toBe(Date.UTC(2026, 5, 30, 12));
  });
});

describe('each query takes its own parameters', () => {
  it('names a parameter of another query as unknown, then lists its own', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['churn-risk', { level: 'product' }, 'level'],
      ['churn-risk', { min_orders: '3' }, 'min_orders'],
      ['product-affinity', { from_date: '2026-01-01' }, 'from_date'],
      ['rfm-segmentation', { months: '3' }, 'months'],
      ['channel-funnel', { currency: 'USD' }, 'currency'],
      ['monthly-revenue', { churn_high: '0.5' }, 'churn_high'],
    ];
    for (const [query, raw, name] of cases) {
      const e = refusal(() => parse(query, raw));
      expect(e.path, `${query} ${name}`).toEqual([name]);
      expect(e.message).toBe(`unknown analytics parameter "${name}" for ${query}; the parameters it accepts are ${queryParamNames(query as never).join(', ')}`);
    }
    expect(queryParamNames('churn-risk')).toEqual(['now', 'churn_inactive_days', 'churn_high', 'churn_medium']);
    expect(queryParamNames('rfm-segmentation')).toEqual([
      'now',
      'currency',
      ...[1, 2, 3, 4].map((i) => `recency_days_${i}`),
      ...[1, 2, 3, 4].map((i) => `frequency_orders_${i}`),
      ...[1, 2, 3, 4].map((i) => `monetary_minor_${i}`),
    ]);
  });

  it('passes a query only its own parameters, defaults filled in', () => {
    expect(parse('product-affinity', { min_orders: '3' }).params).toEqual({ min_orders: 3, now_ms: NOW });
    expect(parse('churn-risk', {}).params).toEqual({ churn_inactive_days: 90, churn_high: 0.7, churn_medium: 0.4, now_ms: NOW });
  });
});

describe('dates', () => {
  it('refuses from_date after to_date, naming both (to_date given, or defaulting to now)', () => {
    const given = refusal(() => parse('demand-forecast-base', { from_date: '2026-05-01', to_date: '2026-04-01' }));
    expect(given.path).toEqual(['from_date']);
    expect(given.message).toBe('analytics parameters from_date and to_date: from_date 2026-05-01 is after to_date 2026-04-01');
    const defaulted = refusal(() => parse('demand-forecast-base', { from_date: '2026-07-01' }));
    expect(defaulted.message).toBe(
      "analytics parameters from_date and to_date: from_date 2026-07-01 is after to_date 2026-06-30 (to_date defaults to now's date)",
    );
    expect(parse('demand-forecast-base', { from_date: '2026-06-30' }).params).toMatchObject({ from_date: '2026-06-30', to_date: '2026-06-30' });
  });

  it('refuses a from_date or to_date that does not exist', () => {
    for (const field of ['from_date', 'to_date']) {
      const e = refusal(() => parse('demand-forecast-base', { [field]: '2026-02-30' }));
      expect(e.path).toEqual([field]);
      expect(e.message).toBe(`analytics parameter ${field}: must be a date that exists, as YYYY-MM-DD`);
    }
  });
});

describe('numbers', () => {
  it('says what a number must be in words, never "any" or 5e-324', () => {
    const message = (query: string, raw: Record<string, string>) => refusal(() => parse(query, raw)).message;
    expect(message('churn-risk', { churn_inactive_days: '0' })).toBe(
      'analytics parameter churn_inactive_days: must be a number greater than 0 and at most 100000',
    );
    expect(message('churn-risk', { churn_high: '2' })).toBe('analytics parameter churn_high: must be a number from 0 to 1');
    expect(message('product-affinity', { min_orders: '0' })).toBe('analytics parameter min_orders: must be an integer from 1 to 9007199254740991');
    expect(message('cohort-retention', { months: '2.5' })).toBe('analytics parameter months: must be an integer from 0 to 120');
    expect(message('rfm-segmentation', { recency_days_1: '-1' })).toBe('analytics parameter recency_days_1: must be a number from 0 to 100000');
    expect(message('churn-risk', { churn_inactive_days: '1e300' })).toMatch(/must be a number greater than 0 and at most 100000, in plain decimal digits$/);
    expect(message('customer-lifetime-value', { clv_high_minor: '1e300' })).toMatch(/must be an integer from 0 to 9007199254740991, in plain decimal digits$/);
  });

  it('takes plain decimal digits only: not hexadecimal, binary, an exponent or blanks, which Number() reads', () => {
    for (const [query, field] of [
      ['cohort-retention', 'months'],
      ['product-affinity', 'min_orders'],
      ['customer-lifetime-value', 'clv_high_minor'],
      ['rfm-segmentation', 'recency_days_1'],
      ['churn-risk', 'churn_high'],
    ] as const)
      for (const raw of ['0x10', '0b10000', '0o20', '1.6e1', '1e2', ' 16', '16 ', '+16', '.5', '5.', 'Infinity', '']) {
        const e = refusal(() => parse(query, { [field]: raw }));
        expect(e.path, `${field}=${raw}`).toEqual([field]);
        expect(e.message, `${field}=${raw}`).toMatch(/, in plain decimal digits$/);
      }
    expect(parse('cohort-retention', { months: '16' }).params.months).toBe(16);
    expect(parse('cohort-retention', { months: '016' }).params.months).toBe(16);
    expect(parse('churn-risk', { churn_high: '0.75' }).params.churn_high).toBe(0.75);
  });

  it('refuses thresholds out of order, naming both (a default named as one)', () => {
    const cases: [string, Record<string, string>, string, string][] = [
      [
        'churn-risk',
        { churn_high: '0.3', churn_medium: '0.9' },
        'churn_medium',
        'analytics parameters churn_medium and churn_high: churn_medium 0.9 must be below churn_high 0.3',
      ],
      [
        'churn-risk',
        { churn_high: '0.2' },
        'churn_high',
        'analytics parameters churn_medium and churn_high: churn_medium 0.4 (its default) must be below churn_high 0.2',
      ],
      [
        'customer-lifetime-value',
        { clv_high_minor: '100', clv_medium_minor: '100' },
        'clv_medium_minor',
        'analytics parameters clv_medium_minor and clv_high_minor: clv_medium_minor 100 must be below clv_high_minor 100',
      ],
      [
        'rfm-segmentation',
        { recency_days_1: '5', recency_days_2: '1' },
        'recency_days_1',
        'analytics parameters recency_days_1 and recency_days_2: recency_days_1 5 must be below recency_days_2 1',
      ],
      [
        'rfm-segmentation',
        { frequency_orders_4: '3' },
        'frequency_orders_4',
        'analytics parameters frequency_orders_3 and frequency_orders_4: frequency_orders_3 4 (its default) must be below frequency_orders_4 3',
      ],
      [
        'rfm-segmentation',
        { monetary_minor_2: '1' },
        'monetary_minor_2',
        'analytics parameters monetary_minor_1 and monetary_minor_2: monetary_minor_1 5000 (its default) must be below monetary_minor_2 1',
      ],
    ];
    for (const [query, raw, path, message] of cases) {
      const e = refusal(() => parse(query, raw));
      expect(e.path).toEqual([path]);
      expect(e.message).toBe(message);
      expect(e.details).toEqual({ fields: message.match(/^analytics parameters (\w+) and (\w+)/)!.slice(1) });
    }
    expect(parse('churn-risk', { churn_high: '0.9', churn_medium: '0.8' }).params).toMatchObject({ churn_high: 0.9, churn_medium: 0.8 });
    expect(parse('rfm-segmentation', { recency_days_1: '1', recency_days_2: '2', recency_days_3: '3', recency_days_4: '4' }).params).toMatchObject({
      recency_days_4: 4,
    });
  });
});

describe('the query string', () => {
  it('refuses a parameter given more than once, naming it', () => {
    const e = refusal(() => oneValueEach({ churn_high: ['0.8'], now: ['2026-01-01', '2026-02-01'] }));
    expect(e.path).toEqual(['now']);
    expect(e.message).toBe('analytics parameter now: given 2 times; give it once');
    expect(oneValueEach({ now: ['2026-01-01'], currency: ['EUR'] })).toEqual({ now: '2026-01-01', currency: 'EUR' });
  });

  it('pages with a limit from 1 to 1000, naming limit otherwise', () => {
    expect(analyticsPageLimit(undefined)).toBe(100);
    expect(analyticsPageLimit('1000')).toBe(1000);
    for (const limit of ['0', '1001', 'ten', '2.5']) expect(refusal(() => analyticsPageLimit(limit)).path).toEqual(['limit']);
  });
});

describe('currency', () => {
  it('takes a code of the ISO 4217 table in any case, upper-cased, as ingest does; refuses another, naming currency', () => {
    for (const [raw, code] of [
      ['jpy', 'JPY'],
      ['Eur', 'EUR'],
      ['USD', 'USD'],
    ] as const)
      expect(parse('monthly-revenue', { currency: raw }).params.currency).toBe(code);
    for (const currency of ['XYZ', 'ABC', 'US', 'EURO', ' eur', 'u$d']) {
      const e = refusal(() => parse('monthly-revenue', { currency }));
      expect(e.path, currency).toEqual(['currency']);
      expect(e.message).toBe('analytics parameter currency: must be an ISO 4217 currency code such as USD');
    }
  });
});
