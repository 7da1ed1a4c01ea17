import { createHash } from 'node:crypto';
import { stableJson } from '../../application/stable-json.js';

// A generated, reproducible Customer 360 data set in Segment Spec calls: people browse anonymously
// on several devices, identify (which links and merges their device clusters), order, view
// products and pages. Identifiers overlap across calls on purpose so merges really happen.

export type DatasetOptions = {
  readonly customers: number;
  readonly ordersPerCustomer: number;
  readonly eventsPerCustomer: number;
  readonly seed: number;
  readonly start: number;
  readonly spanDays: number;
  /** add duplicates, invalid calls and blocked identifiers, as real traffic has */
  readonly noise: boolean;
};

export type Dataset = {
  readonly calls: readonly Record<string, unknown>[];
  readonly stats: { readonly people: number; readonly orders: number; readonly events: number; readonly duplicates: number; readonly invalid: number };
};

export const DEFAULT_DATASET: DatasetOptions = {
  customers: 5_000,
  ordersPerCustomer: 10,
  eventsPerCustomer: 20,
  seed: 42,
  start: Date.UTC(2025, 0, 1),
  spanDays: 540,
  noise: true,
};

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Thabo', 'Naledi', 'Kenji', 'Amara', 'Lucia', 'Ravi', 'Sipho'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Nkosi', 'Dlamini', 'Sato', 'Okafor', 'Rossi', 'Patel', 'Mokoena'];
const CITIES = [
  { city: 'Cape Town', country: 'ZA', region: 'WC' },
  { city: 'Johannesburg', country: 'ZA', region: 'GP' },
  { city: 'London', country: 'GB', region: 'ENG' },
  { city: 'New York', country: 'US', region: 'NY' },
  { city: 'San Francisco', country: 'US', region: 'CA' },
  { city: 'Berlin', country: 'DE', region: 'BE' },
];
const CATEGORIES = ['electronics', 'books', 'fashion', 'home', 'sports', 'beauty', 'toys', 'grocery'];
const PAGES = ['Home', 'Search', 'Category', 'Deals', 'Help', 'Account'];
const EVENTS = ['Signed Up', 'Newsletter Opened', 'Support Ticket Opened', 'Coupon Applied', 'Cart Viewed'];

export const generateDataset = (options: Partial<DatasetOptions> = {}): Dataset => {
  const o = { ...DEFAULT_DATASET, ...options };
  const rnd = mulberry32(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const day = 86_400_000;
  const calls: Record<string, unknown>[] = [];
  let seq = 0;
  let orders = 0;
  let events = 0;
  let duplicates = 0;
  let invalid = 0;
  const iso = (t: number) => new Date(t).toISOString();
  const id = () => `m-${o.seed}-${(seq++).toString(36)}`;

  for (let p = 0; p < o.customers; p++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = `${first}.${last}.${p}@example.com`.toLowerCase();
    const known = rnd() < 0.8;
    const userId = known ? `user-${p}` : undefined;
    const phone = rnd() < 0.4 ? `+1 415 ${String(200 + (p % 700)).padStart(3, '0')} ${String(1000 + ((p * 7) % 9000)).padStart(4, '0')}` : undefined;
    const devices = 1 + Math.floor(rnd() * 3);
    const anon = Array.from({ length: devices }, (_, d) => `anon-${o.seed}-${p}-${d}`);
    const mobile = Array.from({ length: devices }, () => rnd() < 0.35);
    const home = pick(CITIES);
    const favourite = pick(CATEGORIES);
    const t0 = o.start + Math.floor(rnd() * o.spanDays * 0.5) * day;
    const span = o.spanDays * day * 0.5;
    const at = (f: number) => t0 + Math.floor(f * span);
    const base = (d: number, t: number, withUser: boolean) => ({
      messageId: id(),
      timestamp: iso(t),
      anonymousId: anon[d],
      ...(withUser && userId ? { userId } : {}),
      channel: mobile[d] ? 'mobile' : 'browser',
      context: {
        ip: `203.0.113.${p % 250}`,
        ...(mobile[d] ? { device: { id: `device-${o.seed}-${p}-${d}`, type: 'ios' } } : {}),
        location: home,
      },
    });
    // each device browses anonymously first: a separate anonymous customer per device
    anon.forEach((_, d) => {
      calls.push({ type: 'page', ...base(d, t0 + d * 60_000, false), name: 'Home', properties: { path: '/', url: 'https://shop.example.com/' } });
      events++;
    });
    // identify on every device: links the devices' clusters into one person (merges)
    anon.forEach((_, d) => {
      calls.push({
        type: 'identify',
        ...base(d, t0 + day + d * 3_600_000, true),
        traits: {
          email,
          firstName: first,
          lastName: last,
          ...(phone && d === 0 ? { phone } : {}),
          plan: pick(['free', 'plus', 'pro']),
          address: { city: home.city, country: home.country },
        },
        context: { ...base(d, 0, true).context, consent: { categoryPreferences: { Marketing: rnd() < 0.7, Analytics: true } } },
      });
    });
    const nOrders = Math.max(0, Math.round(o.ordersPerCustomer * (0.5 + rnd())));
    for (let k = 0; k < nOrders; k++) {
      const d = Math.floor(rnd() * devices);
      const price = Math.round((5 + rnd() * 200) * 100) / 100;
      const qty = 1 + Math.floor(rnd() * 3);
      const category = rnd() < 0.6 ? favourite : pick(CATEGORIES);
      calls.push({
        type: 'track',
        ...base(d, at(0.05 + rnd() * 0.95), true),
        event: 'Order Completed',
        properties: {
          order_id: `o-${o.seed}-${p}-${k}`,
          revenue: Math.round(price * qty * 100) / 100,
          currency: 'USD',
          products: [{ product_id: `sku-${category}-${k % 17}`, category, price, quantity: qty }],
        },
      });
      orders++;
    }
    const nEvents = Math.max(0, Math.round(o.eventsPerCustomer * (0.5 + rnd())) - devices);
    for (let k = 0; k < nEvents; k++) {
      const d = Math.floor(rnd() * devices);
      const t = at(rnd());
      const r = rnd();
      const category = rnd() < 0.6 ? favourite : pick(CATEGORIES);
      if (r < 0.35) calls.push({ type: mobile[d] ? 'screen' : 'page', ...base(d, t, rnd() < 0.5), name: pick(PAGES), properties: { path: `/${category}` } });
      else if (r < 0.7)
        calls.push({
          type: 'track',
          ...base(d, t, rnd() < 0.5),
          event: 'Product Viewed',
          properties: { product_id: `sku-${category}-${k % 17}`, category, name: `${category} item ${k % 17}`, price: 19.99 },
        });
      else if (r < 0.8) calls.push({ type: 'track', ...base(d, t, true), event: 'Interest Expressed', properties: { interest: category } });
      else calls.push({ type: 'track', ...base(d, t, rnd() < 0.5), event: pick(EVENTS), properties: { plan: 'plus' } });
      events++;
    }
  }
  if (o.noise) {
    const n = calls.length;
    for (let k = 0; k < Math.floor(n * 0.01); k++) {
      calls.push({ ...calls[Math.floor(rnd() * n)]! }); // a client retry: same messageId, same payload
      duplicates++;
    }
    for (let k = 0; k < Math.floor(n * 0.002); k++) {
      calls.push({ type: 'track', messageId: id(), anonymousId: `anon-bad-${k}`, timestamp: iso(o.start) }); // no event name
      calls.push({ type: 'track', messageId: id(), userId: `user-bad-${k}`, event: 'Order Completed', properties: { revenue: -1 }, timestamp: iso(o.start) });
      calls.push({ type: 'page', messageId: id(), userId: 'unknown', timestamp: iso(o.start) }); // blocked only
      invalid += 3;
    }
  }
  calls.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
  return { calls, stats: { people: o.customers, orders, events, duplicates, invalid } };
};

// ---- `c360 seed`: exact totals across four sources, streamed one person at a time ----------------
// Each person is seen by several systems before they are known to be one: an anonymous web visit,
// an anonymous mobile session (device id), a support ticket keyed by phone or email, then identify
// calls and a CRM record that link them all. So every person ends as exactly one customer, reached
// through merges. Ids carry the seed: the same seed again is all duplicates (with other sizes, the calls
// that differ are new ones), another seed new people.

export const SEED_SOURCES = ['web', 'mobile', 'crm', 'support'] as const;
export type SeedSource = (typeof SEED_SOURCES)[number];
export type SeedOptions = {
  readonly customers: number;
  readonly products: number;
  readonly orders: number;
  readonly events: number;
  readonly seed: number;
  readonly start?: number;
  readonly spanDays?: number;
};
export type SeedCall = { readonly source: SeedSource; readonly call: Record<string, unknown> };
export type SeedProduct = { readonly product_id: string; readonly sku: string; readonly name: string; readonly category: string; readonly price: number };
export type SeedPlan = {
  readonly products: readonly SeedProduct[];
  readonly stats: { readonly customers: number; readonly products: number; readonly orders: number; readonly events: number; readonly calls: number };
  /** one person's calls at a time, in the order they happen; no two people share an identifier */
  readonly people: Iterable<readonly SeedCall[]>;
};

/** Splits `total` over `weights` exactly (largest remainder along the running sum). */
const allocate = (total: number, weights: readonly number[]): Uint32Array => {
  const sum = weights.reduce((s, w) => s + w, 0);
  const out = new Uint32Array(weights.length);
  let acc = 0;
  let given = 0;
  weights.forEach((w, i) => {
    acc += w;
    const upTo = Math.round((total * acc) / sum);
    out[i] = upTo - given;
    given = upTo;
  });
  return out;
};

const ADJECTIVES = ['Classic', 'Smart', 'Eco', 'Pro', 'Mini', 'Ultra', 'Vintage', 'Compact'];
const NOUNS: Readonly<Record<string, readonly string[]>> = {
  electronics: ['Headphones', 'Charger', 'Speaker'],
  books: ['Novel', 'Cookbook', 'Atlas'],
  fashion: ['Jacket', 'Sneakers', 'Scarf'],
  home: ['Lamp', 'Kettle', 'Rug'],
  sports: ['Yoga Mat', 'Racket', 'Bottle'],
  beauty: ['Serum', 'Brush', 'Balm'],
  toys: ['Puzzle', 'Kite', 'Robot'],
  grocery: ['Coffee', 'Tea', 'Granola'],
};

/**
 * A seed call's message id names what the call is (its source and content, without the id), not
 * where it falls in the run: a person's calls depend on the sizes asked for (the catalogue, how
 * orders are spread), so a counter would give one id to two different calls when the sizes change,
 * and the second run would be refused as reusing an id. The seed prefixes it; `seen` numbers exact
 * repeats within one person so that no two calls share an id.
 */
const seedMessageId = (seed: number, source: SeedSource, body: Record<string, unknown>, seen: Map<string, number>): string => {
  const digest = createHash('sha256').update(source).update('\u0000').update(stableJson(body)).digest('base64url').slice(0, 22);
  const n = seen.get(digest) ?? 0;
  seen.set(digest, n + 1);
  return `seed-${seed}-${digest}${n ? `-${n}` : ''}`;
};

export const generateSeed = (options: SeedOptions): SeedPlan => {
  const o = { start: Date.UTC(2025, 0, 1), spanDays: 365, ...options };
  // people's shape from one stream (known before any call, so totals are exact), calls from another
  const plan = mulberry32(o.seed ^ 0x5eed);
  const shape = Array.from({ length: o.customers }, () => ({
    wo: 0.2 + plan(),
    we: 0.2 + plan(),
    mobile: plan() < 0.45,
    crm: plan() < 0.6,
    support: plan() < 0.35,
    phone: plan() < 0.6,
  }));
  const orders = allocate(
    o.orders,
    shape.map((s) => s.wo),
  );
  const events = allocate(
    o.events,
    shape.map((s) => s.we),
  );
  const identifies = shape.reduce((n, s) => n + 1 + (s.mobile ? 1 : 0) + (s.crm ? 1 : 0), 0);
  const products: SeedProduct[] = Array.from({ length: o.products }, (_, i) => {
    const category = CATEGORIES[Math.floor(plan() * CATEGORIES.length)]!;
    const nouns = NOUNS[category]!;
    return {
      product_id: `prod-${i + 1}`,
      sku: `SKU-${String(i + 1).padStart(5, '0')}`,
      name: `${ADJECTIVES[Math.floor(plan() * ADJECTIVES.length)]} ${nouns[i % nouns.length]}`,
      category,
      price: Math.round((3 + plan() * 250) * 100) / 100,
    };
  });
  const byCategory = new Map(CATEGORIES.map((c) => [c, products.filter((p) => p.category === c)]));

  function* people(): Generator<readonly SeedCall[]> {
    const rnd = mulberry32(o.seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const day = 86_400_000;
    for (let p = 0; p < o.customers; p++) {
      const s = shape[p]!;
      const tag = `${o.seed}-${p}`;
      const [first, last] = [pick(FIRST), pick(LAST)];
      const email = `${first}.${last}.${tag}@example.com`.toLowerCase();
      const userId = `user-${tag}`;
      const n = (o.seed * 1_000_003 + p) % 8_000_000;
      const phone = s.phone ? `+1 212 ${200 + Math.floor(n / 10_000)} ${String(n % 10_000).padStart(4, '0')}` : undefined;
      const home = pick(CITIES);
      const favourite = pick(CATEGORIES);
      const web = { anonymousId: `anon-${tag}-w`, channel: 'browser', context: { ip: `203.0.113.${p % 250}`, location: home } };
      const mob = {
        anonymousId: `anon-${tag}-m`,
        channel: 'mobile',
        context: { device: { id: `device-${tag}`, type: 'ios' }, location: home, library: { name: 'analytics-ios' } },
      };
      const t0 = o.start + Math.floor(rnd() * o.spanDays * 0.5) * day;
      const later = () => t0 + day + Math.floor(rnd() * o.spanDays * 0.5 * day);
      const calls: { t: number; c: SeedCall }[] = [];
      const seen = new Map<string, number>();
      const add = (t: number, source: SeedSource, call: Record<string, unknown>) => {
        const body = { timestamp: new Date(t).toISOString(), ...call };
        calls.push({ t, c: { source, call: { messageId: seedMessageId(o.seed, source, body, seen), ...body } } });
      };
      let budget = events[p]!;
      const spend = () => budget > 0 && budget-- > 0;
      // before anyone knows who this is: three separate customers that later calls merge
      if (spend()) add(t0, 'web', { type: 'page', ...web, name: 'Home', properties: { path: '/', url: 'https://shop.example.com/' } });
      if (s.mobile && spend()) add(t0 + 3_600_000, 'mobile', { type: 'screen', ...mob, name: 'Onboarding' });
      const ticketBy = phone && s.crm ? { phone } : { email };
      if (s.support && spend())
        add(t0 + 7_200_000, 'support', {
          type: 'track',
          anonymousId: `zd-${tag}`,
          event: 'Ticket Created',
          channel: 'server',
          properties: { subject: 'Where is my order?' },
          context: { traits: ticketBy, externalIds: [{ id: `zd-${tag}`, type: 'zendesk_id', collection: 'users', encoding: 'none' }] },
        });
      const consent = { categoryPreferences: { Marketing: rnd() < 0.7, Analytics: true } };
      add(t0 + day, 'web', {
        type: 'identify',
        ...web,
        userId,
        traits: { email, firstName: first, lastName: last, plan: pick(['free', 'plus', 'pro']), address: { city: home.city, country: home.country } },
        context: { ...web.context, consent },
      });
      if (s.mobile) add(t0 + day + 3_600_000, 'mobile', { type: 'identify', ...mob, userId, traits: { email } });
      if (s.crm)
        add(t0 + 2 * day, 'crm', {
          type: 'identify',
          userId,
          channel: 'server',
          traits: { email, ...(phone ? { phone } : {}), firstName: first, lastName: last, tier: pick(['bronze', 'silver', 'gold']) },
          context: { externalIds: [{ id: `crm-${tag}`, type: 'crm_id', collection: 'users', encoding: 'none' }] },
        });
      const product = () => pick(rnd() < 0.6 && byCategory.get(favourite)?.length ? byCategory.get(favourite)! : products);
      const device = () => (s.mobile && rnd() < 0.4 ? (['mobile', mob] as const) : (['web', web] as const));
      for (let i = 0; i < orders[p]!; i++) {
        const [source, d] = device();
        const items = products.length ? Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({ ...product(), quantity: 1 + Math.floor(rnd() * 2) })) : [];
        const revenue = Math.round(items.reduce((sum, x) => sum + x.price * x.quantity, 0) * 100) / 100;
        add(later(), source, {
          type: 'track',
          ...d,
          userId,
          event: 'Order Completed',
          properties: { order_id: `order-${tag}-${i}`, revenue, currency: 'USD', products: items },
        });
      }
      while (spend()) {
        const [source, d] = device();
        const r = rnd();
        const withUser = rnd() < 0.5 ? { userId } : {};
        const x = products.length ? product() : undefined;
        if (s.support && r < 0.05)
          add(later(), 'support', { type: 'track', anonymousId: `zd-${tag}`, event: 'Ticket Solved', channel: 'server', context: { traits: ticketBy } });
        else if (r < 0.4 || !x)
          add(
            later(),
            source,
            source === 'mobile'
              ? { type: 'screen', ...d, ...withUser, name: pick(PAGES) }
              : { type: 'page', ...d, ...withUser, name: pick(PAGES), properties: { path: `/${favourite}` } },
          );
        else if (r < 0.75) add(later(), source, { type: 'track', ...d, ...withUser, event: 'Product Viewed', properties: { ...x } });
        else if (r < 0.85) add(later(), source, { type: 'track', ...d, ...withUser, event: 'Product Added', properties: { ...x, quantity: 1 } });
        else if (r < 0.93) add(later(), source, { type: 'track', ...d, userId, event: 'Interest Expressed', properties: { interest: x.category } });
        else add(later(), source, { type: 'track', ...d, ...withUser, event: pick(EVENTS), properties: { plan: 'plus' } });
      }
      yield calls.sort((a, b) => a.t - b.t).map((x) => x.c);
    }
  }
  return {
    products,
    stats: { customers: o.customers, products: o.products, orders: o.orders, events: o.events, calls: identifies + o.orders + o.events },
    people: { [Symbol.iterator]: people },
  };
};
