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
        traits: { email, firstName: first, lastName: last, ...(phone && d === 0 ? { phone } : {}), plan: pick(['free', 'plus', 'pro']), address: { city: home.city, country: home.country } },
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
        properties: { order_id: `o-${o.seed}-${p}-${k}`, revenue: Math.round(price * qty * 100) / 100, currency: 'USD', products: [{ product_id: `sku-${category}-${k % 17}`, category, price, quantity: qty }] },
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
      else if (r < 0.7) calls.push({ type: 'track', ...base(d, t, rnd() < 0.5), event: 'Product Viewed', properties: { product_id: `sku-${category}-${k % 17}`, category, name: `${category} item ${k % 17}`, price: 19.99 } });
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
      calls.push({ type: 'identify', messageId: id(), userId: `user-bad-${k}`, traits: { email: 'not-an-email' }, timestamp: iso(o.start) });
      calls.push({ type: 'page', messageId: id(), userId: 'unknown', timestamp: iso(o.start) }); // blocked only
      invalid += 3;
    }
  }
  calls.sort((a, b) => String(a['timestamp']).localeCompare(String(b['timestamp'])));
  return { calls, stats: { people: o.customers, orders, events, duplicates, invalid } };
};
