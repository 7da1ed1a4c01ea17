import fc from 'fast-check';
import { tryNormalizeIdentifier } from '../domain/identity/identifier.js';
import { compileRules, DEFAULT_IDENTITY_RULES, type IdentityRules } from '../domain/identity/rules.js';

// Segment call histories for the identity laws. Identifiers come from small pools (with several
// spellings that normalize to the same value) so that calls overlap and merges really happen.
// Everything is built from records, constantFrom and arrays so counterexamples shrink to a few
// plain calls.

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** ManualClock's start: calls without a timestamp are observed at this time. */
export const NOW = Date.UTC(2026, 0, 1);
/** Call timestamps straddle NOW, so windows and "no timestamp" both matter. */
export const BASE_TIME = NOW - 3 * HOUR;

export const TENANTS = ['acme', 'globex'] as const;

export const ID_TYPES = ['user_id', 'anonymous_id', 'email', 'phone', 'device_id'] as const;
export type IdType = (typeof ID_TYPES)[number];

type PoolEntry = { readonly value: string; readonly spellings: readonly string[] };
const plain = (value: string, other = ` ${value} `): PoolEntry => ({ value, spellings: [value, other] });

/** Usable identifier values: `value` is the normalized form, every spelling normalizes to it. */
export const POOLS: Readonly<Record<IdType, readonly PoolEntry[]>> = {
  user_id: ['u-1', 'u-2', 'u-3', 'u-4'].map((v) => plain(v)),
  anonymous_id: ['a-1', 'a-2', 'a-3', 'a-4'].map((v) => plain(v)),
  email: [
    { value: 'ada@example.com', spellings: ['ada@example.com', ' Ada@Example.COM'] },
    { value: 'grace@example.org', spellings: ['grace@example.org', 'GRACE@example.org '] },
    { value: 'alan@example.net', spellings: ['alan@example.net', 'Alan@Example.net'] },
    { value: 'edsger@example.com', spellings: ['edsger@example.com', 'EDSGER@EXAMPLE.COM'] },
  ],
  phone: [
    { value: '+14155552671', spellings: ['+14155552671', '(415) 555-2671'] },
    { value: '+12127365000', spellings: ['+1 212 736 5000', '2127365000'] },
    { value: '+16502530000', spellings: ['(650) 253-0000', '+16502530000'] },
    { value: '+442071838750', spellings: ['+442071838750', '+44 20 7183 8750'] },
  ],
  device_id: ['d-1', 'd-2', 'd-3', 'd-4'].map((v) => plain(v)),
};

/**
 * Placeholders and all-zero ids, which the default rule set blocks. Each is spelled only in ways
 * the core normalizes to the same value (user, anonymous and device ids keep their case; emails do
 * not), so a call carries the same identifier whether or not a user's own rules block it: under
 * rules that do not, `UNDEFINED` would be a user id of its own, not a spelling of `undefined`.
 */
export const BLOCKED: Readonly<Record<IdType, readonly PoolEntry[]>> = {
  user_id: [plain('null'), plain('undefined')],
  anonymous_id: [plain('unknown'), plain('00000000-0000-0000-0000-000000000000')],
  email: [{ value: 'test@test.com', spellings: ['test@test.com', 'TEST@test.com'] }],
  phone: [], // a blocked phone (all zeros) is not a valid number: it is quarantined, never linked
  device_id: [plain('0000-0000'), plain('n/a')],
};

/**
 * A pool entry and one of its spellings; or, with `v`, a value of its own beyond the pools (the
 * pressure histories' anchors and spokes: as many distinct values as a caller's rules need).
 */
export type Ref = { readonly i: number; readonly s: number; readonly v?: string | undefined };
export type Source = 'web' | 'crm';
export type Purpose = 'marketing' | 'analytics';
export const PURPOSES: readonly Purpose[] = ['marketing', 'analytics'];
export const TRAIT_NAMES = ['plan', 'city'] as const;

export type CallSpec = {
  readonly tenant: string;
  readonly kind: 'identify' | 'track' | 'page' | 'alias';
  readonly userId?: Ref | undefined;
  readonly anonymousId?: Ref | undefined;
  /** alias only: the anonymous id being aliased */
  readonly previousId?: Ref | undefined;
  readonly email?: Ref | undefined;
  readonly phone?: Ref | undefined;
  readonly device?: Ref | undefined;
  /** minutes after BASE_TIME; undefined sends no timestamp (observed when received, i.e. NOW) */
  readonly minute?: number | undefined;
  readonly source: Source;
  readonly traits: { readonly plan?: string | undefined; readonly city?: string | undefined };
  readonly consent?: Partial<Record<Purpose, boolean>> | undefined;
  /** undefined: the core derives the id from the payload */
  readonly messageId?: string | undefined;
  /** identifiers of a caller's rules (HistoryOptions.rules), sent as context.externalIds */
  readonly extra?: readonly ExtraId[] | undefined;
  readonly seq: number;
};

/**
 * An identifier a caller's rules bring beyond the pools: a value of one of its own types (which
 * overlap, so that its limits are reached), or one of its blocked values, or a value its blocked
 * patterns match. `value` is what the core normalizes `spelled` to.
 */
export type ExtraId = { readonly type: string; readonly spelled: string; readonly value: string; readonly blocked: boolean };

export type HistoryOptions = {
  readonly tenants?: readonly string[];
  /** include blocked placeholder values in the pools */
  readonly blocked?: boolean;
  readonly minCalls?: number;
  readonly maxCalls?: number;
  /** weight of identify calls relative to the other kinds (1 each) */
  readonly identifyWeight?: number;
  /**
   * A caller's rules: calls also carry values of its own identifier types (every type of `types`
   * the pools do not cover), its blocked values and values its blocked patterns match.
   */
  readonly rules?: IdentityRules | undefined;
};

export const entryOf = (type: IdType, ref: Ref): PoolEntry => {
  if (ref.v !== undefined) return { value: ref.v, spellings: [ref.v] };
  const pool = POOLS[type];
  return ref.i < pool.length ? pool[ref.i]! : BLOCKED[type][ref.i - pool.length]!;
};
export const isBlockedRef = (type: IdType, ref: Ref): boolean => ref.v === undefined && ref.i >= POOLS[type].length;
const spell = (type: IdType, ref: Ref): string => {
  const e = entryOf(type, ref);
  return e.spellings[ref.s % e.spellings.length]!;
};

/** Blocked values, when asked for, come up about one time in six. */
const arbRef = (type: IdType, blocked: boolean): fc.Arbitrary<Ref> => {
  const usable = fc.nat({ max: POOLS[type].length - 1 });
  const i =
    blocked && BLOCKED[type].length > 0
      ? fc.oneof(
          { arbitrary: usable, weight: 5 },
          { arbitrary: fc.integer({ min: POOLS[type].length, max: POOLS[type].length + BLOCKED[type].length - 1 }), weight: 1 },
        )
      : usable;
  return fc.record({ i, s: fc.nat({ max: 1 }) });
};

const BUILT_IN_POOLS: ReadonlySet<string> = new Set(ID_TYPES);

/** `spelled` as the core normalizes it as a `type`, or undefined when it is not a valid one. */
const extraId = (type: string, spelled: string, blocked: boolean): ExtraId | undefined => {
  const r = tryNormalizeIdentifier(type, spelled, { defaultRegion: 'US' });
  return r.ok && r.id.value !== '' ? { type, spelled, value: r.id.value, blocked } : undefined;
};

/** Values a blocked pattern matches (case as written: the rules match without case), or none when fast-check cannot generate them. */
const matching = (pattern: string): fc.Arbitrary<string> | undefined => {
  try {
    const values = fc.stringMatching(new RegExp(pattern), { size: 'xsmall' });
    // a pattern that matches only longer strings (`^[a-f0-9]{70,}$`) would have the filter below
    // retry for ever: such a pattern gets no values here, as one fast-check cannot generate
    if (!fc.sample(values, { numRuns: 50, seed: 1 }).some((v) => v.length <= 64)) return undefined;
    return values.filter((v) => v.length <= 64);
  } catch {
    return undefined;
  }
};

/**
 * The identifiers of a caller's rules a call may carry (see HistoryOptions.rules): one or two, in
 * about half the calls. Blocked values travel as the rules' own types, or as device and anonymous
 * ids (types that take any text).
 */
export const arbExtras = (rules: IdentityRules | undefined): fc.Arbitrary<readonly ExtraId[] | undefined> => {
  if (!rules) return fc.constant(undefined);
  const own = Object.keys(rules.types).filter((t) => !BUILT_IN_POOLS.has(t));
  const carriers = [...own, 'device_id', 'anonymous_id'];
  const choices: fc.WeightedArbitrary<ExtraId | undefined>[] = [];
  if (own.length > 0) {
    // enough values of each type to go past its limit (3 at least, so that values overlap and recur)
    const values = own.flatMap((type) =>
      Array.from({ length: Math.min(MAX_PRESSURE_VALUES, Math.max(3, (rules.types[type]!.limit ?? 2) + 1)) }, (_, n) => ({ type, value: `${type}-${n + 1}` })),
    );
    const arb = fc.tuple(fc.constantFrom(...values), fc.boolean()).map(([{ type, value }, padded]) => extraId(type, padded ? ` ${value} ` : value, false));
    choices.push({ arbitrary: arb, weight: 3 });
  }
  const blockedValues = rules.blocked.values.filter((v) => v.trim() !== '');
  const blockedSources = [
    ...(blockedValues.length > 0 ? [fc.constantFrom(...blockedValues)] : []),
    ...rules.blocked.patterns.flatMap((p) => matching(p) ?? []),
  ];
  if (blockedSources.length > 0) {
    const arb = fc.tuple(fc.constantFrom(...carriers), fc.oneof(...blockedSources)).map(([type, v]) => extraId(type, v, true));
    choices.push({ arbitrary: arb, weight: 1 });
  }
  if (choices.length === 0) return fc.constant(undefined);
  const one = fc.oneof(...choices).filter((x): x is ExtraId => x !== undefined);
  // of different types: one call with two loyalty ids under a limit of 1 contradicts itself, not the rules
  return maybe(fc.uniqueArray(one, { minLength: 1, maxLength: 2, selector: (x) => x.type }));
};

/** The first tenant gets most calls, so that its customers overlap; the others keep it honest. */
const arbTenant = (tenants: readonly string[]): fc.Arbitrary<string> =>
  tenants.length === 1
    ? fc.constant(tenants[0]!)
    : fc.oneof({ arbitrary: fc.constant(tenants[0]!), weight: 2 }, { arbitrary: fc.constantFrom(...tenants.slice(1)), weight: 1 });

/** present `present` times out of `outOf` */
const maybe = <T>(arb: fc.Arbitrary<T>, present = 1, outOf = 2) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: outOf - present }, { arbitrary: arb, weight: present });

export const arbCall = (
  options: HistoryOptions = {},
): fc.Arbitrary<Omit<CallSpec, 'seq' | 'messageId'> & { readonly withMessageId: boolean; readonly bridge: Bridge }> => {
  const blocked = options.blocked ?? false;
  const w = options.identifyWeight ?? 2;
  return fc
    .record({
      tenant: arbTenant(options.tenants ?? ['acme']),
      kind: fc.oneof(
        { arbitrary: fc.constant('identify' as const), weight: w },
        { arbitrary: fc.constantFrom('track' as const, 'page' as const, 'alias' as const), weight: 3 },
      ),
      // anonymous-only visitors are what later calls merge; known users mostly stay apart (user_id limit 1)
      primary: fc.oneof({ arbitrary: fc.constant('anon'), weight: 2 }, { arbitrary: fc.constantFrom('both', 'user'), weight: 2 }),
      user: arbRef('user_id', blocked),
      anon: arbRef('anonymous_id', blocked),
      previousId: arbRef('anonymous_id', blocked),
      email: maybe(arbRef('email', blocked), 1, 3),
      phone: maybe(arbRef('phone', blocked), 1, 4),
      device: maybe(arbRef('device_id', blocked), 1, 3),
      minute: fc.option(
        fc.integer({ min: 0, max: 10 }).map((k) => k * 30),
        { nil: undefined, freq: 8 },
      ),
      source: fc.constantFrom<Source>('web', 'crm'),
      traits: fc.record({ plan: fc.constantFrom('free', 'pro', 'team'), city: fc.constantFrom('Paris', 'Lima', 'Oslo') }, { requiredKeys: [] }),
      consent: maybe(fc.record({ marketing: fc.boolean(), analytics: fc.boolean() }, { requiredKeys: [] })),
      withMessageId: fc.nat({ max: 4 }).map((n) => n > 0),
      // a third of the calls reuse identifiers of two earlier calls (a login on a second device)
      bridge: maybe(fc.record({ p: fc.nat(), q: fc.nat() }), 1, 3),
      extra: arbExtras(options.rules),
    })
    .map(({ primary, user, anon, ...c }) => ({
      ...c,
      // every Segment call needs a userId or an anonymousId; alias always has a userId
      userId: primary !== 'anon' || c.kind === 'alias' ? user : undefined,
      anonymousId: primary !== 'user' && c.kind !== 'alias' ? anon : undefined,
      previousId: c.kind === 'alias' ? c.previousId : undefined,
    }));
};

type Slot = 'anonymousId' | 'userId' | 'email' | 'device' | 'phone';
const SLOTS: readonly Slot[] = ['anonymousId', 'userId', 'email', 'device', 'phone'];
type Bridge = { readonly p: number; readonly q: number } | undefined;

const TYPE_OF: Readonly<Record<Slot, IdType>> = { anonymousId: 'anonymous_id', userId: 'user_id', email: 'email', device: 'device_id', phone: 'phone' };
const usable = (c: CallSpec, x: Slot): boolean => c[x] !== undefined && !isBlockedRef(TYPE_OF[x], c[x]);

/**
 * The call, moved to `p`'s tenant, carrying one identifier of `p` and one of `q` (in another
 * field) instead of its own: what joins two customers.
 */
const bridged = (c: CallSpec, p: CallSpec, q: CallSpec): CallSpec => {
  const sp = SLOTS.find((x) => usable(p, x));
  const sq = SLOTS.find((x) => x !== sp && usable(q, x));
  if (!sp || !sq) return c;
  const out: { -readonly [K in keyof CallSpec]: CallSpec[K] } = {
    ...c,
    tenant: p.tenant,
    anonymousId: undefined,
    userId: undefined,
    email: undefined,
    device: undefined,
    phone: undefined,
  };
  out[sp] = p[sp];
  out[sq] = q[sq];
  // Segment wants a userId or an anonymousId (alias: a userId); keep the call's own if needed
  if (c.kind === 'alias' ? !out.userId : !out.userId && !out.anonymousId) {
    if (c.userId) out.userId = c.userId;
    else out.anonymousId = c.anonymousId;
  }
  return out;
};

const number = (
  calls: readonly (Omit<CallSpec, 'seq' | 'messageId'> & { readonly withMessageId: boolean; readonly bridge: Bridge })[],
  offset = 0,
  earlier: readonly CallSpec[] = [],
): CallSpec[] => {
  const out: CallSpec[] = [...earlier];
  for (const [k, { withMessageId, bridge, ...c }] of calls.entries()) {
    const call: CallSpec = { ...c, seq: offset + k, messageId: withMessageId ? `m-${offset + k}` : undefined };
    const p = bridge && out.length > 0 ? out[bridge.p % out.length]! : undefined;
    const peers = out.filter((x) => x.tenant === p?.tenant);
    out.push(p && bridge ? bridged(call, p, peers[bridge.q % peers.length]!) : call);
  }
  return out.slice(earlier.length);
};

/**
 * Arrays of `min`..`max` items, mostly up to 8 long, with lengths drawn uniformly (fast-check's
 * default bias would make half the histories one or two calls long, too short to merge anything).
 * Long histories are where rare interleavings hide, short ones keep 500 runs per property cheap.
 */
export const arbSized = <T>(item: fc.Arbitrary<T>, min = 1, max = 25): fc.Arbitrary<T[]> => {
  const upTo = (n: number) =>
    fc.tuple(fc.noBias(fc.integer({ min, max: n })), fc.array(item, { minLength: n, maxLength: n })).map(([length, items]) => items.slice(0, length));
  return fc.oneof({ arbitrary: upTo(Math.max(min, Math.min(8, max))), weight: 3 }, { arbitrary: upTo(max), weight: 1 });
};

export const arbHistory = (options: HistoryOptions = {}): fc.Arbitrary<CallSpec[]> =>
  arbSized(arbCall(options), options.minCalls ?? 1, options.maxCalls ?? 25).map((cs) => number(cs));

/** A history and a permutation of it (sort keys shrink to the identity permutation). */
export const arbPermutedHistory = (options: HistoryOptions = {}): fc.Arbitrary<{ history: CallSpec[]; permuted: CallSpec[] }> =>
  fc
    .tuple(arbHistory(options), fc.array(fc.nat({ max: 1000 }), { minLength: options.maxCalls ?? 25, maxLength: options.maxCalls ?? 25 }))
    .map(([history, keys]) => ({
      history,
      permuted: history
        .map((c, k) => ({ c, k: keys[k]!, i: k }))
        .sort((a, b) => a.k - b.k || a.i - b.i)
        .map((x) => x.c),
    }));

/** Any order over `n` items, possibly repeating some (at-least-once delivery). */
export const arbDelivery = (maxItems = 200): fc.Arbitrary<{ readonly keys: readonly number[]; readonly repeats: readonly number[] }> =>
  fc.record({
    keys: fc.array(fc.nat({ max: 1000 }), { minLength: maxItems, maxLength: maxItems }),
    repeats: fc.array(fc.nat({ max: maxItems - 1 }), { maxLength: 12 }),
  });

export const deliver = <T>(items: readonly T[], d: { readonly keys: readonly number[]; readonly repeats: readonly number[] }): T[] => {
  const withDuplicates = [
    ...items.map((x, i) => ({ x, i })),
    ...d.repeats.filter((r) => r < items.length).map((r, j) => ({ x: items[r]!, i: items.length + j })),
  ];
  const key = (i: number) => d.keys[i % d.keys.length]! + Math.floor(i / d.keys.length);
  return withDuplicates.sort((a, b) => key(a.i) - key(b.i) || a.i - b.i).map((p) => p.x);
};

/** Operations interleaved with calls: duplicate deliveries, manual merges and unmerges. */
export type Op =
  | { readonly op: 'call'; readonly call: CallSpec }
  | { readonly op: 'dup'; readonly pick: number }
  | { readonly op: 'merge'; readonly tenant: string; readonly a: number; readonly b: number; readonly force: boolean }
  | { readonly op: 'unmerge'; readonly tenant: string; readonly pick: number; readonly which: number };

export const arbOps = (options: HistoryOptions = {}): fc.Arbitrary<Op[]> => {
  const tenants = arbTenant(options.tenants ?? ['acme']);
  type Raw = { op: 'call'; call: Omit<CallSpec, 'seq' | 'messageId'> & { withMessageId: boolean; bridge: Bridge } } | Exclude<Op, { op: 'call' }>;
  const raw: fc.Arbitrary<Raw> = fc.oneof(
    { arbitrary: arbCall(options).map((call) => ({ op: 'call' as const, call })), weight: 6 },
    { arbitrary: fc.record({ op: fc.constant('dup' as const), pick: fc.nat() }), weight: 2 },
    {
      arbitrary: fc.record({ op: fc.constant('merge' as const), tenant: tenants, a: fc.nat({ max: 20 }), b: fc.nat({ max: 20 }), force: fc.boolean() }),
      weight: 2,
    },
    { arbitrary: fc.record({ op: fc.constant('unmerge' as const), tenant: tenants, pick: fc.nat({ max: 20 }), which: fc.nat({ max: 5 }) }), weight: 2 },
  );
  // a few calls first, so that merges and unmerges find customers to work on
  const calls = arbCall(options).map((call): Raw => ({ op: 'call', call }));
  return fc.tuple(arbSized(calls, 2, 10), arbSized(raw, 1, (options.maxCalls ?? 25) - 10)).map(([first, rest]) => {
    const sent: CallSpec[] = [];
    return [...first, ...rest].map((o, k): Op => {
      if (o.op !== 'call') return o;
      const call = number([o.call], k, sent)[0]!;
      sent.push(call);
      return { op: 'call', call };
    });
  });
};

// --- Segment payloads --------------------------------------------------------------------------

export const observedAtOf = (c: CallSpec): number => (c.minute === undefined ? NOW : BASE_TIME + c.minute * MINUTE);

export type ObservedId = { readonly type: string; readonly value: string; readonly blocked: boolean };

/** The identifiers a call carries, normalized (what the core should see). */
export const identifiersOf = (c: CallSpec): ObservedId[] => {
  const out: ObservedId[] = [];
  const add = (type: IdType, ref: Ref | undefined) => {
    if (ref) out.push({ type, value: entryOf(type, ref).value, blocked: isBlockedRef(type, ref) });
  };
  add('user_id', c.userId);
  add('anonymous_id', c.anonymousId);
  add('anonymous_id', c.previousId);
  add('email', c.email);
  add('phone', c.phone);
  add('device_id', c.device);
  for (const x of c.extra ?? []) out.push({ type: x.type, value: x.value, blocked: x.blocked });
  return out;
};

/** Trait values a call sets (email and phone are traits too, as spelled). */
export const traitsOf = (c: CallSpec): Record<string, string> => ({
  ...Object.fromEntries(Object.entries(c.traits).filter(([, v]) => v !== undefined)),
  ...(c.email ? { email: spell('email', c.email) } : {}),
  ...(c.phone ? { phone: spell('phone', c.phone) } : {}),
});

/**
 * A track call's event: every third an order, whose id is one of two (so an order is often sent
 * again, by the same customer or by one it merges with later: counted once per cluster), each
 * sending with its own amount; the others a plain event.
 */
const trackOf = (seq: number): Record<string, unknown> =>
  seq % 3 === 0
    ? { event: 'Order Completed', properties: { order_id: `o-${seq % 2}`, revenue: 10 + (seq % 7), currency: seq % 5 === 0 ? 'EUR' : 'USD' } }
    : { event: `Event ${seq}`, properties: { step: seq } };

export const toSegment = (c: CallSpec): Record<string, unknown> => {
  const traits = traitsOf(c);
  const hasTraits = Object.keys(traits).length > 0;
  const context = {
    ...(c.device ? { device: { id: spell('device_id', c.device) } } : {}),
    ...(c.consent ? { consent: { categoryPreferences: c.consent } } : {}),
    ...(c.kind !== 'identify' && hasTraits ? { traits } : {}),
    ...(c.extra?.length ? { externalIds: c.extra.map((x) => ({ id: x.spelled, type: x.type })) } : {}),
  };
  return {
    type: c.kind,
    ...(c.messageId ? { messageId: c.messageId } : {}),
    ...(c.userId ? { userId: spell('user_id', c.userId) } : {}),
    ...(c.anonymousId ? { anonymousId: spell('anonymous_id', c.anonymousId) } : {}),
    ...(c.minute !== undefined ? { timestamp: new Date(observedAtOf(c)).toISOString() } : {}),
    ...(Object.keys(context).length ? { context } : {}),
    ...(c.kind === 'identify' && hasTraits ? { traits } : {}),
    ...(c.kind === 'track' ? trackOf(c.seq) : {}),
    ...(c.kind === 'page' ? { name: `Page ${c.seq}`, properties: { path: `/p/${c.seq}` } } : {}),
    ...(c.kind === 'alias' ? { previousId: spell('anonymous_id', c.previousId!) } : {}),
  };
};

// --- identity rules ----------------------------------------------------------------------------

const mapTypes = (f: (type: string, rule: IdentityRules['types'][string]) => IdentityRules['types'][string]) =>
  Object.fromEntries(Object.entries(DEFAULT_IDENTITY_RULES.types).map(([t, r]) => [t, f(t, r)]));

/** Nothing intervenes: no limits, a guard nobody reaches; the default blocked list stays. */
export const OPEN_RULES: IdentityRules = {
  ...DEFAULT_IDENTITY_RULES,
  version: 11,
  types: mapTypes((_t, r) => ({ ...r, limit: null })),
  customType: { ...DEFAULT_IDENTITY_RULES.customType, limit: null },
  clusterGuard: { maxCustomers: 1_000_000, maxIdentifiers: 1_000_000 },
};

/** Small limits the pools easily exceed. */
export const SMALL_RULES: IdentityRules = {
  ...DEFAULT_IDENTITY_RULES,
  version: 12,
  types: { ...DEFAULT_IDENTITY_RULES.types, email: { limit: 2, priority: 80 }, phone: { limit: 2, priority: 70 }, device_id: { limit: 2, priority: 40 } },
};

/** Limits that only count identifiers first seen within a window before the event. */
export const WINDOWED_RULES: IdentityRules = {
  ...DEFAULT_IDENTITY_RULES,
  version: 13,
  types: {
    ...DEFAULT_IDENTITY_RULES.types,
    email: { limit: 1, windowMs: 2 * HOUR, priority: 80 },
    device_id: { limit: 2, windowMs: HOUR, priority: 40 },
    anonymous_id: { limit: 3, windowMs: 90 * MINUTE, priority: 10 },
  },
};

/** A cluster guard small histories reach: merges stop at three customers or six identifiers. */
export const GUARDED_RULES: IdentityRules = {
  ...OPEN_RULES,
  version: 14,
  clusterGuard: { maxCustomers: 3, maxIdentifiers: 6 },
};

// --- identifiers and clusters ------------------------------------------------------------------

/** One identifier from the pools, as a caller spells it, with the value the core normalizes it to. */
export const arbIdentifier = (options: { readonly blocked?: boolean } = {}): fc.Arbitrary<ObservedId & { readonly spelled: string }> =>
  fc
    .constantFrom(...ID_TYPES)
    .chain((type) => arbRef(type, options.blocked ?? false).map((ref) => ({ type, ref })))
    .map(({ type, ref }) => ({ type, value: entryOf(type, ref).value, blocked: isBlockedRef(type, ref), spelled: spell(type, ref) }));

/**
 * Calls that make one customer whatever the rules' limits (each brings its own anonymous id and
 * all share one email): a cluster of 2 to 4 visits in one tenant.
 */
export const arbCluster = (options: { readonly tenant?: string } = {}): fc.Arbitrary<CallSpec[]> =>
  fc
    .record({
      anons: fc.uniqueArray(fc.nat({ max: POOLS.anonymous_id.length - 1 }), { minLength: 2, maxLength: POOLS.anonymous_id.length }),
      email: fc.nat({ max: POOLS.email.length - 1 }),
      spellings: fc.array(fc.nat({ max: 1 }), { minLength: 4, maxLength: 4 }),
    })
    .map(({ anons, email, spellings }) =>
      anons.map(
        (i, k): CallSpec => ({
          tenant: options.tenant ?? TENANTS[0],
          kind: 'identify',
          anonymousId: { i, s: spellings[k]! },
          email: { i: email, s: spellings[(k + 1) % 4]! },
          source: 'web',
          traits: {},
          messageId: `cluster-${k}`,
          seq: k,
        }),
      ),
    );

// --- pressure: histories that take a caller's rules to their limits and their cluster guard ----
//
// Random histories over small pools never reach a limit of 5 emails or a guard of 50 customers, so
// laws about them would hold without checking anything. A pressure history is a random history
// with a campaign woven in, sized from the rules under test: for every limited type, one customer
// (one anchor id) sent one value more than its limit, a few values per call; for the guard, a
// cluster grown one batch of customers at a time to one more than maxCustomers, and a customer
// filled to maxIdentifiers then merged with another.

/** The most values of one type a limit campaign sends: a limit up to this less one is reached. */
export const MAX_PRESSURE_VALUES = 250;
/** The largest cluster, in customers, a guard campaign builds (two calls per customer). */
export const MAX_PRESSURE_CUSTOMERS = 150;
/** The most identifiers a guard campaign gathers on one customer (many per call). */
export const MAX_PRESSURE_IDENTIFIERS = 2_000;
/** identifiers per call a campaign packs in context.externalIds (Segment takes 50) */
const PER_CALL = 40;

/** The k-th value of `type` that no pool uses, as the core normalizes it. */
export const pressureValue = (type: string, k: number): string => pressureShapes(type)[0]!(k);

/**
 * The shapes a campaign's values take, the first first: rules often block test values (a .example
 * domain, fictional 555 numbers), so the next shape is tried where one is blocked.
 */
const pressureShapes = (type: string): readonly ((k: number) => string)[] =>
  type === 'email'
    ? [(k) => `law${k}@pressure.example`, (k) => `pressure.law${k}@law-pressure.org`, (k) => `lp${k}@mail.law-pressure.net`]
    : type === 'phone'
      ? [(k) => `+1415555${1000 + (k % 9000)}`, (k) => `+1650253${1000 + (k % 9000)}`, (k) => `+44207946${1000 + (k % 9000)}`]
      : [(k) => `${type}-law-${k}`, (k) => `${type}_pressure_${k}`, (k) => `LP${k}`];

export type LimitTarget = { readonly type: string; readonly limit: number; readonly windowMs?: number | undefined };

/**
 * The limited types the histories carry (the pools' and every type the rules list), those a limit
 * campaign reaches and those beyond it (a limit of MAX_PRESSURE_VALUES or more).
 */
export const limitTargets = (
  rules: IdentityRules,
): { readonly reachable: readonly LimitTarget[]; readonly beyond: readonly LimitTarget[]; readonly blocked: readonly LimitTarget[] } => {
  const all = [...new Set<string>([...ID_TYPES, ...Object.keys(rules.types)])].flatMap((type): LimitTarget[] => {
    const { limit, windowMs } = rules.types[type] ?? rules.customType;
    return limit === null ? [] : [{ type, limit, windowMs }];
  });
  const sized = all.filter((t) => t.limit < MAX_PRESSURE_VALUES);
  // a limit the campaign cannot pass because the rules block its values is not reachable either
  const enough = (t: LimitTarget) => usableValues(rules, t.type, t.limit + 1).length > t.limit;
  return {
    reachable: sized.filter(enough),
    beyond: all.filter((t) => t.limit >= MAX_PRESSURE_VALUES),
    blocked: sized.filter((t) => !enough(t)),
  };
};

export type GuardReach = {
  /** a cluster of maxCustomers + 1 is built (false: too large, or the anonymous_id limit stops the cluster first) */
  readonly customers: boolean;
  /** a customer of maxIdentifiers identifiers is built and merged */
  readonly identifiers: boolean;
};

export const guardReach = (rules: IdentityRules): GuardReach => {
  const { maxCustomers, maxIdentifiers } = rules.clusterGuard;
  const anon = (rules.types.anonymous_id ?? rules.customType).limit;
  return {
    // each customer of the cluster brings one anonymous id: the guard is met first while they fit,
    // and while the cluster's identifiers (one a customer, and the hub's) stay within maxIdentifiers
    customers: maxCustomers < MAX_PRESSURE_CUSTOMERS && (anon === null || anon >= maxCustomers) && maxIdentifiers > maxCustomers + 1,
    identifiers: maxIdentifiers < MAX_PRESSURE_IDENTIFIERS,
  };
};

/** a custom type name the rules do not list */
const freeType = (rules: IdentityRules, name: string): string => (rules.types[name] ? `${name}_${Object.keys(rules.types).length}` : name);

/** A campaign's call: one customer's anchor id (`as` user_id for a campaign on anonymous ids: never the type it sends) and the values it sends. */
const campaignCall = (tenant: string, anchor: string, extra: readonly ExtraId[], as: 'anonymousId' | 'userId' = 'anonymousId'): CallSpec => ({
  tenant,
  kind: 'identify',
  ...(as === 'userId' ? { userId: { i: 0, s: 0, v: anchor } } : { anonymousId: { i: 0, s: 0, v: anchor } }),
  source: 'web',
  traits: {},
  extra: extra.length > 0 ? extra : undefined,
  messageId: 'campaign',
  seq: 0,
});

/** `n` values of `type` that normalize and that the rules do not block (fewer if too few do). */
const usableValues = (rules: IdentityRules, type: string, n: number): ExtraId[] => {
  const compiled = compileRules(rules);
  const out: ExtraId[] = [];
  const seen = new Set<string>();
  for (const shape of pressureShapes(type))
    for (let k = 0; out.length < n && k < n + 50; k++) {
      const x = extraId(type, shape(k), false);
      if (x && !seen.has(x.value) && !compiled.isBlocked(x)) seen.add(x.value), out.push(x);
    }
  return out;
};

/** Cuts `items` into calls of `sizes[0]`, `sizes[1]`, ... items (the last size repeats). */
const chunks = <T>(items: readonly T[], sizes: readonly number[]): T[][] => {
  const out: T[][] = [];
  for (let at = 0, k = 0; at < items.length; k++) {
    const size = Math.max(1, sizes[Math.min(k, sizes.length - 1)] ?? 1);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
};

/** Every reachable limited type sent, to one customer each, one value more than its limit. */
export const arbLimitCampaign = (rules: IdentityRules, tenant: string = TENANTS[0]): fc.Arbitrary<CallSpec[]> => {
  const targets = limitTargets(rules).reachable;
  if (targets.length === 0) return fc.constant([]);
  // not shrunk: a smaller campaign reaches less, and every try would replay it whole
  const sizes = fc.noShrink(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }));
  return fc.tuple(...targets.map(() => sizes)).map((perTarget) =>
    targets.flatMap((t, j) => {
      const anchor = `law-anchor-${t.type}`;
      // never more values in one call than the limit (the anchor, of another type, not counted): a
      // call that breaks a limit alone contradicts itself, not the rules
      const sizes = perTarget[j]!.map((n) => Math.min(n, t.limit));
      const as = t.type === 'anonymous_id' ? 'userId' : 'anonymousId';
      return chunks(usableValues(rules, t.type, t.limit + 1), sizes).map((values) => campaignCall(tenant, anchor, values, as));
    }),
  );
};

/**
 * A cluster grown past the guard: maxCustomers + 1 customers (each made by a call of its own, then
 * merged into a hub a batch at a time), and a customer of maxIdentifiers identifiers merged with
 * another. Only the parts guardReach says are reachable.
 */
export const arbGuardCampaign = (rules: IdentityRules, tenant: string = TENANTS[0]): fc.Arbitrary<CallSpec[]> => {
  const reach = guardReach(rules);
  const { maxCustomers, maxIdentifiers } = rules.clusterGuard;
  const hub = extraId(freeType(rules, 'law_hub_id'), 'hub', false)!;
  const spokeOf = (k: number) => `law-spoke-${k}`;
  return fc.noShrink(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 })).map((sizes) => {
    const calls: CallSpec[] = [];
    if (reach.customers) {
      const spokes = Array.from({ length: maxCustomers + 1 }, (_, k) => k);
      calls.push(...spokes.map((k) => campaignCall(tenant, spokeOf(k), [])));
      for (const batch of chunks(spokes, sizes)) {
        const others = batch.slice(1).flatMap((k) => extraId('anonymous_id', spokeOf(k), false) ?? []);
        calls.push(campaignCall(tenant, spokeOf(batch[0]!), [hub, ...others]));
      }
    }
    if (reach.identifiers) {
      // one identifier per custom type of its own: no type's limit stops the filling
      const fills = Array.from({ length: Math.max(0, maxIdentifiers - 1) }, (_, k) => extraId(`law_fill_${k}`, 'f', false)!);
      calls.push(campaignCall(tenant, 'law-full', []));
      for (const part of chunks(fills, [PER_CALL])) calls.push(campaignCall(tenant, 'law-full', part));
      calls.push(campaignCall(tenant, 'law-other', []));
      calls.push(campaignCall(tenant, 'law-other', [extraId('anonymous_id', 'law-full', false)!]));
    }
    return calls;
  });
};

/**
 * A random history (arbHistory) with `campaign`'s calls woven in, in order, renumbered: each call's
 * seq is its place, and every call that has a messageId gets one of its own.
 */
export const arbWoven = (random: fc.Arbitrary<CallSpec[]>, campaign: fc.Arbitrary<CallSpec[]>, maxCalls = 25): fc.Arbitrary<CallSpec[]> =>
  fc.tuple(random, campaign, fc.array(fc.nat({ max: 1000 }), { minLength: maxCalls, maxLength: maxCalls })).map(([calls, woven, keys]) => {
    const placed = [
      ...woven.map((c, k) => ({ c, at: k, k })),
      ...calls.map((c, k) => ({ c, at: ((keys[k % keys.length] ?? 0) / 1000) * woven.length, k: woven.length + k })),
    ].sort((a, b) => a.at - b.at || a.k - b.k);
    return placed.map(({ c }, seq): CallSpec => ({ ...c, seq, messageId: c.messageId === undefined ? undefined : `m-${seq}` }));
  });
