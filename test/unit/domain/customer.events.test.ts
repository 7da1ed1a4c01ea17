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
});
