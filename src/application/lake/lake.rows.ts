import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { LakeBatch } from '../ports/lake.port.js';

// One event's rows in the star schema. Only the readable `data` of an event is used: the personal
// section (names, emails, phones, addresses, IPs, coordinates, free-text properties) is never
// read, so the lake cannot hold it. A page path is left out too: paths can carry personal values.

/** Events that are the customer's own activity (as the 360 view's first/last seen counts them). */
const NOT_ACTIVITY: ReadonlySet<string> = new Set([
  'CustomerMerged',
  'CustomerMergedInto',
  'CustomerUnmerged',
  'CustomerRestored',
  'CustomerErased',
  'ProcessingRestricted',
  'ProcessingRestrictionLifted',
  'EngagementDecided',
  'MatchRejected',
]);

const productIdOf = (p: { productId?: string | undefined; sku?: string | undefined }): string => p.productId ?? p.sku ?? 'unknown';

/** Adds the rows of one event to `batch`. */
export const addEventRows = (batch: LakeBatch, r: RecordedEvent): void => {
  const e = r.event;
  const base = { eventId: r.eventId, customerId: r.streamId, observedAt: r.observedAt };
  if (!NOT_ACTIVITY.has(e.type)) batch.customers.push({ kind: 'seen', customerId: r.streamId, firstSeenAt: r.observedAt, lastSeenAt: r.observedAt });
  switch (e.type) {
    case 'OrderPlaced': {
      const orderId = e.data.orderId ?? r.eventId;
      batch.orders.push({ ...base, orderId, channel: r.channel, currency: e.data.currency, revenueMinor: e.data.revenueMinor });
      e.data.products.forEach((p, i) => {
        const productId = productIdOf(p);
        batch.products.push({ productId, name: p.name, category: p.category, observedAt: r.observedAt });
        // a line of quantity 0 (Segment allows it: an item listed but not bought) sold nothing, so
        // it is no fact_order_line row: no units, no buyer, no pair bought together. The lines
        // after it keep their place in the order (line_no).
        const quantity = p.quantity ?? 1;
        if (quantity === 0) return;
        batch.orderLines.push({
          ...base,
          lineNo: i,
          orderId,
          productId,
          category: p.category,
          quantity,
          priceMinor: p.priceMinor,
          currency: e.data.currency,
        });
      });
      return;
    }
    case 'ProductInteracted': {
      const productId = productIdOf(e.data.product);
      batch.productEvents.push({ ...base, productId, category: e.data.product.category, action: e.data.action, channel: r.channel });
      batch.products.push({ productId, name: e.data.product.name, category: e.data.product.category, observedAt: r.observedAt });
      return;
    }
    case 'PageViewed':
    case 'ScreenViewed':
      batch.views.push({ ...base, kind: e.type === 'PageViewed' ? 'page' : 'screen', name: e.data.name, category: e.data.category, channel: r.channel });
      return;
    case 'EventTracked':
      batch.trackedEvents.push({ ...base, event: e.data.event, channel: r.channel });
      return;
    case 'EngagementDecided':
      batch.decisions.push({
        ...base,
        decisionId: e.data.decisionId,
        trigger: e.data.trigger,
        outcome: e.data.outcome,
        reason: e.data.reason,
        offerId: e.data.offerId,
        channel: e.data.channel,
      });
      return;
    case 'LocationObserved':
      if (e.data.country || e.data.region || e.data.city) batch.locations.push({ ...base, country: e.data.country, region: e.data.region, city: e.data.city });
      return;
    case 'CustomerMergedInto':
      batch.customers.push({ kind: 'merged', customerId: r.streamId, into: e.data.survivorId });
      return;
    case 'CustomerUnmerged':
      batch.customers.push({ kind: 'restored', customerId: e.data.absorbedId });
      batch.customers.push({ kind: 'reassigned', customerId: e.data.absorbedId, eventIds: e.data.reassignedEventIds });
      return;
    case 'CustomerRestored':
      batch.customers.push({ kind: 'restored', customerId: r.streamId });
      return;
    case 'CustomerErased':
      batch.customers.push({ kind: 'erased', customerId: r.streamId });
      return;
    default:
      return;
  }
};
