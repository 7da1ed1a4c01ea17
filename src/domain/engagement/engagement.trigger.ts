import type { CustomerEvent, RecordedEvent } from '../customer/customer.events.js';
import { own, type Customer360 } from '../projection/customer360.js';

// Which committed events engagement answers: interests, page/screen and product views, a new
// place, an order. Everything one call recorded on one stream is one trigger (a product view that
// also moved the customer to Cape Town gets one decision, not two). Our own decisions never are.

export type Place = { readonly country?: string | undefined; readonly region?: string | undefined; readonly city?: string | undefined };

export type Trigger = {
  /** the first triggering event of the call: the decision id derives from it */
  readonly eventId: string;
  readonly streamId: string;
  /**
   * the call (its messageId; else the event id): the decision id derives from stream and call, so
   * a redelivery, or a call whose events arrive in two batches, still gets one decision
   */
  readonly callId: string;
  readonly type: CustomerEvent['type'];
  readonly observedAt: number;
  /** what the call was about right now (lower case) */
  readonly interests: readonly string[];
  readonly place?: Place | undefined;
  /** the call's order, when it sent one with an orderId: a repeat of an order already counted triggers nothing (repeatsAnOrder) */
  readonly order?: { readonly orderId: string; readonly eventId: string } | undefined;
};

const lower = (s: string | undefined): string[] => (s?.trim() ? [s.trim().toLowerCase()] : []);
/** "/electronics/phones" -> "electronics": shops name their sections after what they sell */
const section = (path: string | undefined): string[] => lower(path?.split('/').find((p) => p !== ''));

const interestsOf = (e: CustomerEvent): string[] | undefined => {
  switch (e.type) {
    case 'InterestExpressed':
      return lower(e.data.interest);
    case 'ProductInteracted':
      return e.data.action === 'removed' ? undefined : lower(e.data.product.category);
    case 'PageViewed':
      return e.data.category ? lower(e.data.category) : section(e.data.path);
    case 'ScreenViewed':
      return lower(e.data.category);
    case 'OrderPlaced':
      return [...new Set(e.data.products.flatMap((p) => lower(p.category)))];
    case 'LocationObserved':
      return [];
    default:
      return undefined;
  }
};

/**
 * The triggers among committed events, one per (stream, call). Streams that were restored in this
 * batch are left out: their events are copies of earlier ones, already answered.
 */
export const triggersOf = (events: readonly RecordedEvent[]): Trigger[] => {
  const restored = new Set(events.filter((r) => r.event.type === 'CustomerRestored').map((r) => r.streamId));
  const byCall = new Map<string, Trigger>();
  for (const r of [...events].sort((a, b) => a.version - b.version)) {
    const interests = interestsOf(r.event);
    if (interests === undefined || restored.has(r.streamId)) continue;
    const place = r.event.type === 'LocationObserved' ? r.event.data : undefined;
    const order = r.event.type === 'OrderPlaced' && r.event.data.orderId !== undefined ? { orderId: r.event.data.orderId, eventId: r.eventId } : undefined;
    const callId = r.messageId ?? r.eventId;
    const key = `${r.streamId}\u0000${callId}`;
    const seen = byCall.get(key);
    if (!seen) {
      byCall.set(key, { eventId: r.eventId, streamId: r.streamId, callId, type: r.event.type, observedAt: r.observedAt, interests, place, order });
      continue;
    }
    byCall.set(key, {
      ...seen,
      // a location alone is the weakest reason; the call's other event names it better
      type: seen.type === 'LocationObserved' ? r.event.type : seen.type,
      interests: [...new Set([...seen.interests, ...interests])],
      place: seen.place ?? place,
      order: seen.order ?? order,
    });
  }
  return [...byCall.values()];
};

/**
 * Whether the trigger is an order call repeating an order the view already counts under another
 * event (same orderId: a retry or a reloaded thank-you page). Such a call is kept, but it is not a
 * new order, so it gets no second decision. `view` is the cluster's view with the call folded in.
 */
export const repeatsAnOrder = (trigger: Trigger, view: Customer360): boolean => {
  if (trigger.type !== 'OrderPlaced' || trigger.order === undefined) return false;
  const counted = view.orders.byId === undefined ? undefined : own(view.orders.byId, trigger.order.orderId);
  return counted !== undefined && counted.eventId !== trigger.order.eventId;
};
