import type { Channel } from '../../domain/customer/customer.events.js';
import type { FactEvent } from '../../domain/customer/customer.decider.js';
import type { SegmentCall } from './segment.schema.js';

// Segment Spec call -> what the core observed: raw identifiers (normalized later, with their field
// paths for errors), the facts as domain events, the channel and the time. E-commerce spec events
// become typed facts; every other track call lands on the timeline as EventTracked.

export type RawIdentifier = { readonly type: string; readonly raw: string; readonly path: readonly (string | number)[] };

export type Observation = {
  readonly observedAt: number;
  readonly channel: Channel;
  readonly identifiers: readonly RawIdentifier[];
  readonly facts: readonly FactEvent[];
};

type Dict = Record<string, unknown>;

/** How far ahead of our clock a client timestamp may be (time-zone bugs stay within a day) before we use the time received. */
export const MAX_CLOCK_SKEW_MS = 24 * 3_600_000;

const PRODUCT_ACTIONS: Readonly<Record<string, 'viewed' | 'added' | 'removed' | 'clicked' | 'wishlisted' | 'shared' | 'reviewed'>> = {
  'product viewed': 'viewed',
  'product added': 'added',
  'product removed': 'removed',
  'product clicked': 'clicked',
  'product added to wishlist': 'wishlisted',
  'product shared': 'shared',
  'product reviewed': 'reviewed',
};
const ORDER_EVENTS = new Set(['order completed', 'order placed', 'checkout completed']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
const minor = (amount: number): number => Math.round(amount * 100);

const channelOf = (call: SegmentCall, fallback: Channel): Channel => {
  const c = (call.channel ?? call.context?.channel ?? '').toLowerCase();
  if (c === 'browser' || c === 'web') return 'web';
  if (c === 'mobile') return 'mobile';
  if (c === 'server') return fallback === 'web' ? 'server' : fallback;
  const lib = call.context?.library?.name?.toLowerCase() ?? '';
  if (/ios|android|react-native|flutter|kotlin|swift/.test(lib)) return 'mobile';
  if (lib === 'analytics.js' || lib.includes('analytics-next')) return 'web';
  return fallback;
};

const product = (p: Dict) => ({
  productId: str(p.product_id ?? p.productId ?? p.id),
  sku: str(p.sku),
  name: str(p.name),
  category: str(p.category),
  priceMinor: num(p.price) === undefined ? undefined : minor(num(p.price)!),
  quantity: num(p.quantity) === undefined ? undefined : Math.round(num(p.quantity)!),
});

const orderFacts = (props: Dict): FactEvent => {
  const products = Array.isArray(props.products)
    ? (props.products as unknown[]).filter((p): p is Dict => typeof p === 'object' && p !== null).map(product)
    : [];
  const productsTotal = products.reduce((s, p) => s + (p.priceMinor ?? 0) * (p.quantity ?? 1), 0);
  const amount = num(props.revenue) ?? num(props.total) ?? num(props.value);
  return {
    type: 'OrderPlaced',
    v: 1,
    data: {
      orderId: str(props.order_id ?? props.orderId ?? props.checkout_id),
      revenueMinor: amount === undefined ? productsTotal : minor(amount),
      currency: (str(props.currency) ?? 'USD').toUpperCase(),
      products,
    },
  };
};

const traitFacts = (traits: Dict | undefined, context: 'identify' | 'group' | 'track', prefix = ''): FactEvent[] => {
  if (!traits) return [];
  const entries = Object.entries(traits).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [];
  const named = Object.fromEntries(entries.map(([k, v]) => [`${prefix}${k}`, v]));
  return [{ type: 'TraitsUpdated', v: 1, data: { names: Object.keys(named).sort(), context }, pii: { traits: named } }];
};

const consentFacts = (prefs: Readonly<Record<string, boolean>> | undefined): FactEvent[] =>
  Object.entries(prefs ?? {}).map(([category, granted]) => ({
    type: granted ? 'ConsentGranted' : 'ConsentWithdrawn',
    v: 1,
    // purposes match Segment categories case-insensitively: {"Marketing": true} grants `marketing`
    data: { purpose: category.trim().toLowerCase() },
  }));

const locationFacts = (call: SegmentCall): FactEvent[] => {
  const l = call.context?.location;
  if (!l || (l.city === undefined && l.country === undefined && l.region === undefined && l.latitude === undefined)) return [];
  // coarse place readable, precise coordinates encrypted; the IP stays with page/screen views only
  const precise = l.latitude !== undefined || l.longitude !== undefined;
  return [
    {
      type: 'LocationObserved',
      v: 1,
      data: { country: l.country, region: l.region, city: l.city },
      ...(precise ? { pii: { latitude: l.latitude, longitude: l.longitude } } : {}),
    },
  ];
};

const identifiersOf = (call: SegmentCall): RawIdentifier[] => {
  const ids: RawIdentifier[] = [];
  if (call.userId != null) ids.push({ type: 'user_id', raw: call.userId, path: ['userId'] });
  if (call.anonymousId != null) ids.push({ type: 'anonymous_id', raw: call.anonymousId, path: ['anonymousId'] });
  if (call.type === 'alias') ids.push({ type: 'anonymous_id', raw: call.previousId, path: ['previousId'] });
  const personTraits: [Dict | undefined, string][] = [[call.context?.traits, 'context.traits']];
  if (call.type === 'identify') personTraits.unshift([call.traits, 'traits']);
  for (const [traits, at] of personTraits) {
    const email = str(traits?.email);
    if (email !== undefined) ids.push({ type: 'email', raw: email, path: [...at.split('.'), 'email'] });
    const phone = str(traits?.phone);
    if (phone !== undefined) ids.push({ type: 'phone', raw: phone, path: [...at.split('.'), 'phone'] });
  }
  if (call.context?.device?.id != null) ids.push({ type: 'device_id', raw: call.context.device.id, path: ['context', 'device', 'id'] });
  call.context?.externalIds?.forEach((x, i) => ids.push({ type: x.type, raw: x.id, path: ['context', 'externalIds', i, 'id'] }));
  return ids;
};

export const mapSegmentCall = (call: SegmentCall, receivedAt: number, defaultChannel: Channel): Observation => {
  const channel = channelOf(call, defaultChannel);
  // a clock far in the future would win every last-writer-wins comparison forever
  const stated = call.timestamp !== undefined ? Date.parse(call.timestamp) : receivedAt;
  const observedAt = stated > receivedAt + MAX_CLOCK_SKEW_MS ? receivedAt : stated;
  const facts: FactEvent[] = [];
  const ctx = call.context;
  switch (call.type) {
    case 'identify':
      facts.push(...traitFacts(call.traits, 'identify'));
      break;
    case 'group':
      facts.push({ type: 'GroupJoined', v: 1, data: { groupId: call.groupId } }, ...traitFacts(call.traits, 'group', 'group.'));
      break;
    case 'track': {
      const props = call.properties ?? {};
      const name = call.event.trim().toLowerCase();
      const action = PRODUCT_ACTIONS[name];
      if (ORDER_EVENTS.has(name)) facts.push(orderFacts(props));
      else if (action) facts.push({ type: 'ProductInteracted', v: 1, data: { action, product: product(props) } });
      else if (str(props.interest)) facts.push({ type: 'InterestExpressed', v: 1, data: { interest: str(props.interest)!.toLowerCase() } });
      else facts.push({ type: 'EventTracked', v: 1, data: { event: call.event }, pii: { properties: props } });
      break;
    }
    case 'page': {
      const p = call.properties ?? {};
      facts.push({
        type: 'PageViewed',
        v: 1,
        data: { name: call.name, category: call.category, path: str(p.path) ?? ctx?.page?.path },
        pii: {
          url: str(p.url) ?? ctx?.page?.url,
          referrer: str(p.referrer) ?? ctx?.page?.referrer,
          title: str(p.title) ?? ctx?.page?.title,
          ip: ctx?.ip,
          userAgent: ctx?.userAgent,
        },
      });
      break;
    }
    case 'screen':
      facts.push({ type: 'ScreenViewed', v: 1, data: { name: call.name, category: call.category }, pii: { ip: ctx?.ip, userAgent: ctx?.userAgent } });
      break;
    case 'alias':
      break;
  }
  if (call.type !== 'identify') facts.push(...traitFacts(ctx?.traits, 'track'));
  facts.push(...consentFacts(ctx?.consent?.categoryPreferences), ...locationFacts(call));
  return { observedAt, channel, identifiers: identifiersOf(call), facts };
};
