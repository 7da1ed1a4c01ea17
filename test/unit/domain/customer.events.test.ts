import { describe, expect, it } from 'vitest';
import { CUSTOMER_EVENT_TYPES, CustomerEvent, eventSchemas } from '../../../src/domain/customer/customer.events.js';
import { upcast } from '../../../src/domain/customer/customer.upcasters.js';

describe('the event schemas', () => {
  it('are listed, type for type, in CUSTOMER_EVENT_TYPES (the upcasters and the view builder use the list instead of building the schemas)', () => {
    const fromSchemas = eventSchemas().CustomerEvent.options.map((o) => o.shape.type.value);
    expect([...CUSTOMER_EVENT_TYPES].sort()).toEqual([...fromSchemas].sort());
    expect(fromSchemas.length).toBeGreaterThan(20);
  });

  it('are built once, on first use, and parse through the lazy export as the built union does', () => {
    expect(eventSchemas()).toBe(eventSchemas());
    const event = { type: 'ConsentGranted', v: 1, data: { purpose: 'marketing' } };
    expect(CustomerEvent.parse(event)).toEqual(eventSchemas().CustomerEvent.parse(event));
    const bad = CustomerEvent.safeParse({ type: 'ConsentGranted', v: 1, data: {} });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['data', 'purpose']);
  });

  it('an unknown stored type is refused by the upcaster, not cast', () => {
    expect(() => upcast({ type: 'NoSuchEvent', v: 1, data: {} })).toThrow('unknown event type NoSuchEvent');
    expect(upcast({ type: 'GroupJoined', v: 1, data: { groupId: 'g' } }).type).toBe('GroupJoined');
  });

  it('an OrderPlaced stored before ISO 4217 minor units (in hundredths, no minorDigits) reads in its currency’s minor units', () => {
    const legacy = (currency: string, revenueMinor: number, priceMinor?: number) => ({
      type: 'OrderPlaced',
      v: 1,
      data: { orderId: 'o', revenueMinor, currency, products: [{ productId: 'p', priceMinor, quantity: 1 }, { sku: 's' }] },
    });
    const read = (raw: ReturnType<typeof legacy>) => {
      const e = upcast(raw);
      if (e.type !== 'OrderPlaced') throw new Error(e.type);
      return e.data;
    };
    // hundredths are the minor units of USD: the stored event as it was
    const usd = legacy('USD', 1999, 1999);
    expect(upcast(usd)).toBe(usd);
    expect(read(legacy('JPY', 10_000, 5_000))).toMatchObject({ revenueMinor: 100, minorDigits: 0, products: [{ priceMinor: 50 }, { sku: 's' }] });
    expect(read(legacy('BHD', 1234, 1234))).toMatchObject({ revenueMinor: 12_340, minorDigits: 3, products: [{ priceMinor: 12_340 }, { sku: 's' }] });
    expect(read(legacy('CLF', 1, 1))).toMatchObject({ revenueMinor: 100, minorDigits: 4 });
    // what those builds took with a fraction of a yen reads as the nearest yen
    expect(read(legacy('JPY', 10_050)).revenueMinor).toBe(101);
    // an order that says its digits is read as stored
    const current = { type: 'OrderPlaced', v: 1, data: { revenueMinor: 100, currency: 'JPY', minorDigits: 0, products: [] } };
    expect(upcast(current)).toBe(current);
    expect(CustomerEvent.safeParse(current).success).toBe(true);
  });

  it('the readable reason of a CustomerMerged or CustomerUnmerged stored before reasons went into pii reads in pii, and no longer in data', () => {
    const evidence = { rule: 'manual', identifiers: [], forced: false, actor: 'ops', rulesVersion: 1 };
    const merged = {
      mergeId: 'm1',
      absorbedId: 'b',
      absorbedMembers: [],
      absorbedFirstObservedAt: 1,
      absorbedVersion: 1,
      absorbedDoNotLink: [],
      identifiers: [],
    };
    const legacyMerge = upcast({ type: 'CustomerMerged', v: 1, data: { ...merged, evidence: { ...evidence, reason: 'Jane phoned' } } });
    expect(legacyMerge).toEqual({ type: 'CustomerMerged', v: 1, data: { ...merged, evidence }, pii: { reason: 'Jane phoned' } });
    expect(CustomerEvent.safeParse(legacyMerge).success).toBe(true);
    const unmerged = { mergeId: 'm1', absorbedId: 'b', reassignedEventIds: [], transferredKeys: [], actor: 'ops' };
    const legacyUnmerge = upcast({ type: 'CustomerUnmerged', v: 1, data: { ...unmerged, reason: 'wrong pair, jane@example.com' } });
    expect(legacyUnmerge).toEqual({ type: 'CustomerUnmerged', v: 1, data: unmerged, pii: { reason: 'wrong pair, jane@example.com' } });
    expect(CustomerEvent.safeParse(legacyUnmerge).success).toBe(true);
    // today's events (the reason in pii, or none) read as stored
    const current = { type: 'CustomerMerged', v: 1, data: { ...merged, evidence }, pii: { reason: 'Jane phoned' } };
    expect(upcast(current)).toBe(current);
    const none = { type: 'CustomerUnmerged', v: 1, data: unmerged };
    expect(upcast(none)).toBe(none);
  });
});
