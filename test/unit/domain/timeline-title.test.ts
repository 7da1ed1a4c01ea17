import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { CustomerEvent } from '../../../src/domain/customer/customer.events.js';
import { timelineTitle } from '../../../src/domain/projection/customer360.js';

// Timeline titles are stored in every view: building them without trim() and replace() must give
// the very strings the original expressions gave, for any text the events carry.

const RUNS = Number(process.env.LAW_RUNS ?? 1_000);

/** The titles as first written, for the types whose title was rewritten. */
const reference = (e: CustomerEvent): string | undefined => {
  const money = (minor: number, currency: string): string => `${(minor / 100).toFixed(2)} ${currency}`;
  switch (e.type) {
    case 'PageViewed':
      return `Viewed page ${e.data.name ?? e.data.path ?? ''}`.trim();
    case 'ScreenViewed':
      return `Viewed screen ${e.data.name ?? ''}`.trim();
    case 'OrderPlaced':
      return `Order ${e.data.orderId ?? ''} ${money(e.data.revenueMinor, e.data.currency)}`.replace('  ', ' ');
    case 'LocationObserved':
      return `Seen in ${[e.data.city, e.data.country].filter(Boolean).join(', ') || 'a new location'}`;
    default:
      return undefined;
  }
};

// text made of spaces, other whitespace and letters, so that edges and double spaces come up often
const text = fc.array(fc.constantFrom(' ', '  ', '\t', '\u00a0', '\n', 'a', 'B', '-', '1'), { maxLength: 6 }).map((xs) => xs.join(''));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const ev = (type: string, data: unknown): CustomerEvent => ({ type, v: 1, data }) as CustomerEvent;

const arbEvent: fc.Arbitrary<CustomerEvent> = fc.oneof(
  fc.record({ name: maybe(text), path: maybe(text) }, { requiredKeys: [] }).map((d) => ev('PageViewed', d)),
  fc.record({ name: maybe(text) }, { requiredKeys: [] }).map((d) => ev('ScreenViewed', d)),
  fc
    .record({
      orderId: maybe(text),
      revenueMinor: fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constantFrom(0, 5, 1e23)),
      currency: fc.oneof(text, fc.constantFrom('USD', 'EUR', '')),
    })
    .map((d) => ev('OrderPlaced', { ...d, products: [] })),
  fc.record({ city: maybe(text), country: maybe(text), region: maybe(text) }, { requiredKeys: [] }).map((d) => ev('LocationObserved', d)),
);

describe('timelineTitle', () => {
  test.prop([arbEvent], { numRuns: RUNS })('gives the strings trim() and replace() gave', (e) => {
    expect(timelineTitle(e)).toBe(reference(e));
  });
});
