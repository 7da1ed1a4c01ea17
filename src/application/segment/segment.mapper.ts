import type { Channel } from '../../domain/customer/customer.events.js';
import { consentDecidedAt, consentPurpose, consentPurposeProblem, type FactEvent } from '../../domain/customer/customer.decider.js';
import {
  amountProblem,
  currencyCode,
  isoTimeMs,
  MAX_AMOUNT,
  minorDigits,
  observedAtProblem,
  quantityProblem,
  toMinorUnits,
} from '../../domain/shared/bounds.js';
import { DomainError } from '../../domain/shared/errors.js';
import { formatPath, type SegmentCall } from './segment.schema.js';

// Segment Spec call -> what the core observed: raw identifiers (normalized later, with their field
// paths for errors), the facts as domain events, the channel and the time. E-commerce spec events
// become typed facts; every other track call lands on the timeline as EventTracked.

export type RawIdentifier = {
  readonly type: string;
  readonly raw: string;
  readonly path: readonly (string | number)[];
  /**
   * an alias's previousId: Segment allows an earlier anonymous id or an earlier user id there, so it
   * is taken as a user id when a customer holds that user id, else as an anonymous id
   */
  readonly orUserId?: true | undefined;
};

export type Observation = {
  readonly observedAt: number;
  /** the time of the call's consent decisions: its time, never after it was received (consentDecidedAt) */
  readonly consentAt: number;
  readonly channel: Channel;
  readonly identifiers: readonly RawIdentifier[];
  readonly facts: readonly FactEvent[];
};

type Dict = Record<string, unknown>;

type ProductAction = 'viewed' | 'added' | 'removed' | 'clicked' | 'wishlisted' | 'shared' | 'reviewed';
const PRODUCT_ACTIONS: Readonly<Record<string, ProductAction>> = {
  'product viewed': 'viewed',
  'product added': 'added',
  'product removed': 'removed',
  'product clicked': 'clicked',
  'product added to wishlist': 'wishlisted',
  'product shared': 'shared',
  'product reviewed': 'reviewed',
};
const ORDER_EVENTS = new Set(['order completed', 'order placed', 'checkout completed']);

const describe = (v: unknown): string => (Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
type Path = readonly (string | number)[];
const outOfBounds = (path: Path, problem: string) => new DomainError('VALIDATION_FAILED', `${formatPath(path)} ${problem}`, path);
const absent = (v: unknown): boolean => v === undefined || v === null || v === '';
/**
 * An id or a name the spec types as a string (`order_id`, a product's `sku`, ...): absent is
 * undefined, a number is kept as its text, anything else (an object, a list, a boolean) is refused
 * naming the field, never dropped from what is stored. Among fields that say the same thing
 * (`order_id`, `orderId`, `checkout_id`) the first present one is taken.
 */
const text = (d: Dict, fields: readonly string[], at: Path, max?: number): string | undefined => {
  const field = fields.find((f) => !absent(d[f]));
  if (field === undefined) return undefined;
  const v = d[field];
  if (typeof v === 'string') {
    if (max !== undefined && v.length > max) throw outOfBounds([...at, field], `must be at most ${max} characters`);
    return v;
  }
  if (typeof v === 'number') return String(v);
  throw outOfBounds([...at, field], `must be a string, not ${describe(v)}`);
};
/**
 * The longest order id taken: the view keeps its latest order ids (ORDER_IDS_KEPT) to tell a repeat
 * by, and rewrites them with every write, so an id must stay an id (a 28,000-character one made a
 * view of megabytes)
 */
export const MAX_ORDER_ID_LENGTH = 256;
/** a number sent as a number or a numeric string, checked against its bounds; absent stays undefined */
const bounded = (v: unknown, path: Path, problemOf: (n: number) => string | undefined): number | undefined => {
  if (absent(v)) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  const problem = problemOf(n);
  if (problem) throw outOfBounds(path, problem);
  return n;
};
/** an amount (major units) in the currency's minor units; more decimals than the currency has is refused, never rounded */
const money = (v: unknown, path: Path, currency: string): number | undefined => {
  const amount = bounded(v, path, amountProblem);
  if (amount === undefined) return undefined;
  const digits = minorDigits(currency);
  const minor = toMinorUnits(amount, digits);
  if (minor === undefined) {
    throw outOfBounds(
      path,
      digits === 0 ? `must be a whole number in ${currency}, which has no minor unit` : `must have at most ${digits} decimals in ${currency}`,
    );
  }
  return minor;
};

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

const product = (p: Dict, path: Path, currency: string) => ({
  productId: text(p, ['product_id', 'productId', 'id'], path),
  sku: text(p, ['sku'], path),
  name: text(p, ['name'], path),
  category: text(p, ['category'], path),
  priceMinor: money(p.price, [...path, 'price'], currency),
  // a whole number (quantityProblem): stored as sent
  quantity: bounded(p.quantity, [...path, 'quantity'], quantityProblem),
});

/**
 * A product event's data. A price is kept in its currency's minor units, with the currency and its
 * digits beside it (as an order keeps them); the currency is only checked when there is a price.
 */
const productInteracted = (action: ProductAction, props: Dict) => {
  if (absent(props.price)) return { action, product: product(props, ['properties'], 'USD') };
  const currency = currencyOf(props.currency);
  return { action, product: product(props, ['properties'], currency), currency, minorDigits: minorDigits(currency) };
};

const currencyOf = (v: unknown): string => {
  if (absent(v)) return 'USD';
  const code = typeof v === 'string' ? currencyCode(v) : undefined;
  if (!code) throw outOfBounds(['properties', 'currency'], 'must be an ISO 4217 currency code such as "USD"');
  return code;
};

/** the products of an order: absent is none; anything but an array of objects is refused, never dropped */
const productsOf = (v: unknown, currency: string) => {
  if (absent(v)) return [];
  if (!Array.isArray(v)) throw outOfBounds(['properties', 'products'], 'must be an array of products');
  return v.map((p: unknown, i) => {
    const path = ['properties', 'products', i];
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw outOfBounds(path, 'must be a product object');
    return product(p as Dict, path, currency);
  });
};

const orderFacts = (props: Dict): FactEvent => {
  const currency = currencyOf(props.currency);
  const products = productsOf(props.products, currency);
  const productsTotal = products.reduce((s, p) => s + (p.priceMinor ?? 0) * (p.quantity ?? 1), 0);
  if (productsTotal > MAX_AMOUNT * 10 ** minorDigits(currency)) throw outOfBounds(['properties', 'products'], `must not total more than ${MAX_AMOUNT}`);
  // the first of revenue, total, value that is present
  const field = (['revenue', 'total', 'value'] as const).find((f) => !absent(props[f]));
  const amount = field === undefined ? undefined : money(props[field], ['properties', field], currency);
  return {
    type: 'OrderPlaced',
    v: 1,
    data: {
      orderId: text(props, ['order_id', 'orderId', 'checkout_id'], ['properties'], MAX_ORDER_ID_LENGTH),
      revenueMinor: amount ?? productsTotal,
      currency,
      // the amounts are in this many decimals of the currency (ISO 4217); an order recorded without
      // it is in hundredths whatever the currency (customer.upcasters.ts)
      minorDigits: minorDigits(currency),
      products,
    },
  };
};

/**
 * Where a group call's traits go among the customer's: one trait per group, `group["bank-1"]`, whose
 * value is the traits the group's latest call gave, so two groups' traits never make one made-up
 * group (a flat `group.name` took the last group's name beside the first's industry). One name per
 * group, not one per trait: a name per trait repeated the group id (up to 512 characters) in every
 * name, and a call within its bounds made an event past the store's item size. The id is a JSON
 * string, so no group id can spell another's name. Traits a group call stored before this were
 * named `group.<name>`; they are read as they were.
 */
export const groupTraitName = (groupId: string): string => `group[${JSON.stringify(groupId)}]`;

const traitFacts = (traits: Dict | undefined, context: 'identify' | 'group' | 'track', prefix = ''): FactEvent[] => {
  if (!traits) return [];
  const entries = Object.entries(traits).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [];
  const named = Object.fromEntries(entries.map(([k, v]) => [`${prefix}${k}`, v]));
  return [{ type: 'TraitsUpdated', v: 1, data: { names: Object.keys(named).sort(), context }, pii: { traits: named } }];
};

const consentFacts = (prefs: Readonly<Record<string, boolean>> | undefined): FactEvent[] =>
  Object.entries(prefs ?? {}).map(([category, granted]) => {
    const refused = consentPurposeProblem(category);
    // the path stops at the object: the refused key may be the very text that must not be echoed or logged
    if (refused) throw outOfBounds(['context', 'consent', 'categoryPreferences'], `has a key that is not a consent purpose: a key ${refused}`);
    return {
      type: granted ? 'ConsentGranted' : 'ConsentWithdrawn',
      v: 1,
      // purposes match Segment categories case-insensitively: {"Marketing": true} grants `marketing`
      data: { purpose: consentPurpose(category) },
    } as const;
  });

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
  if (call.type === 'alias') ids.push({ type: 'anonymous_id', raw: call.previousId, path: ['previousId'], orUserId: true });
  const personTraits: [Dict | undefined, string][] = [[call.context?.traits, 'context.traits']];
  if (call.type === 'identify') personTraits.unshift([call.traits, 'traits']);
  for (const [traits, at] of personTraits) {
    for (const type of ['email', 'phone'] as const) {
      const path = [...at.split('.'), type];
      const value = traits?.[type];
      const raw = str(value);
      if (raw !== undefined) ids.push({ type, raw, path });
      // a list or an object where one value belongs: refused, never dropped without a trace
      else if (value !== undefined && value !== null && value !== '')
        throw outOfBounds(path, `must be a string (one ${type} per call), not ${describe(value)}`);
    }
  }
  if (call.context?.device?.id != null) ids.push({ type: 'device_id', raw: call.context.device.id, path: ['context', 'device', 'id'] });
  call.context?.externalIds?.forEach((x, i) => ids.push({ type: x.type, raw: x.id, path: ['context', 'externalIds', i, 'id'] }));
  return ids;
};

export const mapSegmentCall = (call: SegmentCall, receivedAt: number, defaultChannel: Channel): Observation => {
  const channel = channelOf(call, defaultChannel);
  // year 0 would survive every merge, a clock far ahead win every last-writer-wins comparison
  const observedAt = call.timestamp !== undefined ? isoTimeMs(call.timestamp) : receivedAt;
  const problem = call.timestamp !== undefined ? observedAtProblem(observedAt, receivedAt) : undefined;
  if (problem) throw outOfBounds(['timestamp'], problem);
  const facts: FactEvent[] = [];
  const ctx = call.context;
  switch (call.type) {
    case 'identify':
      facts.push(...traitFacts(call.traits, 'identify'));
      break;
    case 'group':
      facts.push(
        { type: 'GroupJoined', v: 1, data: { groupId: call.groupId } },
        // a group call without traits (`group(id)`, often sent on every page) keeps the group's traits as they are
        ...traitFacts(call.traits && Object.keys(call.traits).length > 0 ? { [groupTraitName(call.groupId)]: call.traits } : undefined, 'group'),
      );
      break;
    case 'track': {
      const props = call.properties ?? {};
      const name = call.event.trim().toLowerCase();
      const action = PRODUCT_ACTIONS[name];
      if (ORDER_EVENTS.has(name)) facts.push(orderFacts(props));
      // the price in the minor units of the call's currency (USD when absent)
      else if (action) facts.push({ type: 'ProductInteracted', v: 1, data: productInteracted(action, props) });
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
  return { observedAt, consentAt: consentDecidedAt(observedAt, receivedAt), channel, identifiers: identifiersOf(call), facts };
};
