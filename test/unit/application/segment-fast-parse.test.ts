import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fastSegmentCall, parseSegmentCall } from '../../../src/application/segment/segment.fast-parse.js';
import { SegmentCall } from '../../../src/application/segment/segment.schema.js';

// The fast path of Segment call validation against zod, the spec: on every input it answers
// undefined, or exactly zod's data (the same values, in the same key order); whatever zod refuses,
// it leaves to zod. Inputs are valid calls of every type, then mutated where validation is
// delicate: nulls, wrong types, lengths at and past each limit, odd numbers, impossible dates,
// `__proto__` and `constructor` keys, objects that are not plain. The calls are built of objects of
// Object.prototype, as JSON.parse makes them; those of no prototype are among the mutations.

/** the nested own keys of a value (an array's too), in order: isDeepStrictEqual does not look at key order */
const keyOrder = (v: unknown): unknown => {
  if (typeof v !== 'object' || v === null) return null;
  return Reflect.ownKeys(v).map((k) => [String(k), keyOrder((v as Record<PropertyKey, unknown>)[k])]);
};

const s = (n: number) => 'x'.repeat(n);
const text = fc.string({ minLength: 1, maxLength: 8 });
const textUpTo = (max: number) => fc.oneof(fc.string({ maxLength: 8 }), fc.constant(s(max)));
const id = fc.oneof(text, fc.constant(s(512)), fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -0));
const time = fc.constantFrom('2025-01-01T00:00:00.000Z', '2024-02-29T23:59:59+01:00', '2025-06-01 12:00', '2025-06-01', '2025-01-01T10:00:00.123456789Z');
const dict = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4, noNullPrototype: true });

const context = fc.record(
  {
    ip: textUpTo(64),
    userAgent: textUpTo(2_000),
    channel: text,
    library: fc.record({ name: text, version: text }, { requiredKeys: [], noNullPrototype: true }),
    device: fc.record({ id, advertisingId: text, type: text }, { requiredKeys: [], noNullPrototype: true }),
    location: fc.record(
      {
        city: textUpTo(200),
        country: textUpTo(200),
        region: textUpTo(200),
        latitude: fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), fc.constantFrom(-90, 90)),
        longitude: fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), fc.constantFrom(-180, 180)),
      },
      { requiredKeys: [], noNullPrototype: true },
    ),
    consent: fc.record(
      { categoryPreferences: fc.dictionary(fc.constantFrom('Marketing', 'Analytics', 'ads'), fc.boolean(), { noNullPrototype: true }) },
      { requiredKeys: [], noNullPrototype: true },
    ),
    externalIds: fc.array(
      fc.record({ id, type: fc.oneof(text, fc.constant(s(64))), collection: text, encoding: text }, { requiredKeys: ['id', 'type'], noNullPrototype: true }),
      { maxLength: 3 },
    ),
    traits: dict,
    page: fc.record({ path: text, url: text, referrer: text, title: text }, { requiredKeys: [], noNullPrototype: true }),
    custom: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const common = {
  messageId: fc.oneof(text, fc.constant(s(256))),
  userId: fc.oneof(id, fc.constant(null)),
  anonymousId: fc.oneof(id, fc.constant(null)),
  timestamp: time,
  originalTimestamp: time,
  sentAt: time,
  receivedAt: time,
  channel: text,
  context,
  integrations: dict,
  writeKey: text,
  extra: fc.jsonValue({ maxDepth: 2 }),
};
const call = (type: string, fields: Record<string, fc.Arbitrary<unknown>>, required: string[] = []): fc.Arbitrary<Record<string, unknown>> =>
  fc.record<Record<string, unknown>>({ type: fc.constant(type), ...common, ...fields }, { requiredKeys: ['type', ...required], noNullPrototype: true });
const validish = fc.oneof(
  call('identify', { traits: dict }),
  call('track', { event: fc.oneof(text, fc.constant(s(200))), properties: dict }, ['event']),
  call('page', { name: text, category: text, properties: dict }),
  call('screen', { name: text, category: text, properties: dict }),
  call('alias', { userId: id, previousId: id }, ['userId', 'previousId']),
  call('group', { groupId: id, traits: dict }, ['groupId']),
);

/** values put where validation is delicate, each with a label to count them by */
const ODD: readonly (readonly [string, () => unknown])[] = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['empty string', () => ''],
  ...[64, 65, 200, 201, 256, 257, 512, 513, 2_000, 2_001].map((n) => [`string of ${n}`, () => s(n)] as const),
  ['zero', () => 0],
  ['minus zero', () => -0],
  ['fraction', () => 1.5],
  ['NaN', () => Number.NaN],
  ['Infinity', () => Number.POSITIVE_INFINITY],
  ['largest safe integer', () => Number.MAX_SAFE_INTEGER],
  ['2^53', () => 2 ** 53],
  ['-2^53', () => -(2 ** 53)],
  ['latitude bound', () => 90],
  ['past latitude', () => 90.000001],
  ['past longitude', () => -180.5],
  ['boolean', () => true],
  ['empty array', () => []],
  ['array', () => [1, 'a']],
  ['empty object', () => ({})],
  ['object', () => ({ a: 1 })],
  ['object of no prototype', () => Object.create(null)],
  ['date object', () => new Date(0)],
  ['impossible day', () => '2024-02-30T00:00:00Z'],
  ['not a leap day', () => '2023-02-29'],
  ['hour 24', () => '2025-01-01T24:00:00Z'],
  ['not a date', () => 'yesterday'],
  ['call type', () => 'track'],
  ['Object.prototype key', () => 'toString'],
  ['50 external ids', () => Array.from({ length: 50 }, (_, i) => ({ id: i, type: 't' }))],
  ['51 external ids', () => Array.from({ length: 51 }, (_, i) => ({ id: i, type: 't' }))],
  [
    'external ids with a hole',
    () => {
      const ids: unknown[] = [{ id: 'a', type: 't' }];
      ids[2] = { id: 'b', type: 't' };
      return ids;
    },
  ],
  ['a __proto__ key', () => JSON.parse('{"a":1,"__proto__":{"b":2}}')],
  ['a constructor key', () => ({ constructor: 'x', a: 1 })],
  ['a constructor function', () => ({ constructor: () => 1 })],
  ['a symbol key', () => ({ [Symbol('s')]: 1, a: true })],
  ['non-boolean preferences', () => ({ Marketing: 'yes' })],
];

/** the keys a mutation may set on an object besides its own: the declared ones, and the awkward ones */
const KEYS = [
  'type',
  'messageId',
  'userId',
  'anonymousId',
  'timestamp',
  'event',
  'previousId',
  'groupId',
  'traits',
  'properties',
  'integrations',
  'context',
  'ip',
  'userAgent',
  'location',
  'latitude',
  'longitude',
  'city',
  'device',
  'id',
  'consent',
  'categoryPreferences',
  'externalIds',
  'library',
  'name',
  '__proto__',
  'constructor',
  'extra',
] as const;

/** every object and array within a value, the value first */
const containers = (v: unknown, out: object[] = []): object[] => {
  if (typeof v !== 'object' || v === null) return out;
  out.push(v);
  for (const x of Object.values(v)) containers(x, out);
  return out;
};

type Mutation = { readonly at: number; readonly key: number; readonly own: boolean; readonly odd: number; readonly remove: boolean };
const mutation = fc.record({ at: fc.nat(), key: fc.nat(), own: fc.boolean(), odd: fc.nat(ODD.length - 1), remove: fc.boolean() });

const seen = new Map<string, number>();
const count = (label: string) => seen.set(label, (seen.get(label) ?? 0) + 1);

/** the call with the mutations applied, in place (a copy: fast-check shrinks from the values it made) */
const mutate = (value: Record<string, unknown>, mutations: readonly Mutation[]): unknown => {
  const root: unknown = value;
  for (const m of mutations) {
    const targets = containers(root);
    const target = targets[m.at % targets.length] as Record<string, unknown>;
    const own = Object.keys(target);
    const key = m.own && own.length ? own[m.key % own.length]! : KEYS[m.key % KEYS.length]!;
    if (m.remove && !Array.isArray(target)) {
      delete target[key];
      count(`removed ${key}`);
      continue;
    }
    const [label, make] = ODD[m.odd]!;
    // an own __proto__ key, as JSON.parse makes it (an assignment would set the prototype)
    Object.defineProperty(target, key, { value: make(), enumerable: true, writable: true, configurable: true });
    count(label);
    count(`set ${key}`);
    count(`${key} = ${label}`);
  }
  return root;
};

/** the property: undefined, or zod's data exactly; never an answer for a call zod refuses */
const check = (input: unknown): 'fast' | 'zod accepts' | 'zod refuses' => {
  const zod = SegmentCall.safeParse(input);
  const fast = fastSegmentCall(input);
  const via = parseSegmentCall(input);
  expect(via.success).toBe(zod.success);
  if (!zod.success) {
    expect(fast).toBeUndefined();
    expect(via.error?.issues).toEqual(zod.error.issues);
    return 'zod refuses';
  }
  // isDeepStrictEqual, not toStrictEqual: that one compares the values' `constructor`, which a call may send (NaN)
  expect(isDeepStrictEqual(via.data, zod.data)).toBe(true);
  if (fast === undefined) {
    if (process.env.DEBUG_FAST) console.log('unsure', input);
    return 'zod accepts';
  }
  expect(isDeepStrictEqual(fast, zod.data)).toBe(true);
  expect(keyOrder(fast)).toEqual(keyOrder(zod.data));
  return 'fast';
};

/** a value to put at a place, or the field taken away */
const REMOVE = Symbol('remove');
const ids = [
  null,
  undefined,
  REMOVE,
  '',
  'u',
  s(512),
  s(513),
  0,
  -0,
  42,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53,
  -(2 ** 53),
  1.5,
  Number.NaN,
  true,
  {},
  [],
];
const times = [
  '2025-01-01T00:00:00Z',
  '2024-02-29',
  '2024-02-30T00:00:00Z',
  '2023-02-29',
  '2025-01-01T24:00:00Z',
  '2025-01-01T23:60:00Z',
  'yesterday',
  '',
  5,
  null,
  REMOVE,
];
const strings = (max?: number, min = 0) => [...(max === undefined ? ['x'] : [s(max), s(max + 1)]), ...(min ? [''] : []), 5, null, undefined, REMOVE, [], {}];
const objects = () => [
  {},
  { a: 1 },
  JSON.parse('{"a":1,"__proto__":{"b":2}}'),
  { constructor: 'x' },
  { constructor: () => 1 },
  { constructor: Object },
  { [Symbol('s')]: 1 },
  Object.create(null),
  Object.assign(Object.create(null), { a: 1 }),
  new Date(0),
  [],
  [{ a: 1 }],
  null,
  undefined,
  REMOVE,
  'x',
];
const externalIdLists = () => [
  [],
  Array.from({ length: 50 }, (_, i) => ({ id: i, type: 't' })),
  Array.from({ length: 51 }, (_, i) => ({ id: i, type: 't' })),
  [{ id: 'a', type: 't' }, undefined],
  [{ id: 'a', type: s(64) }],
  [{ id: 'a', type: s(65) }],
  [{ id: 'a', type: '' }],
  [{ id: null, type: 't' }],
  [{ id: 2 ** 53, type: 't' }],
  [{ id: 'a' }],
  [{ id: 'a', type: 't', collection: 5 }],
  [{ id: 'a', type: 't', extra: [1] }],
  [JSON.parse('{"id":"a","type":"t","__proto__":{}}')],
  [Object.assign(Object.create(null), { id: 'a', type: 't' })],
  { 0: { id: 'a', type: 't' }, length: 1 },
  'x',
  null,
];

/** the places where validation is delicate, each with the values to put there */
const PLACES: readonly (readonly [path: readonly string[], values: () => readonly unknown[]])[] = [
  [['type'], () => ['identify', 'track', 'page', 'screen', 'alias', 'group', 'toString', 'constructor', 'Track', '', null, REMOVE, 5]],
  [['messageId'], () => strings(256, 1)],
  [['userId'], () => ids],
  [['anonymousId'], () => ids],
  [['previousId'], () => ids],
  [['groupId'], () => ids],
  [['event'], () => strings(200, 1)],
  [['name'], () => strings()],
  [['category'], () => strings()],
  [['channel'], () => strings()],
  [['writeKey'], () => strings()],
  ...['timestamp', 'originalTimestamp', 'sentAt', 'receivedAt'].map((f) => [[f], () => times] as const),
  ...['traits', 'properties', 'integrations', 'context'].map((f) => [[f], objects] as const),
  [['constructor'], () => ['x', () => 1, null, {}]],
  [['__proto__'], () => [{}, null, 'x']],
  [['context', 'ip'], () => strings(64)],
  [['context', 'userAgent'], () => strings(2_000)],
  [['context', 'channel'], () => strings()],
  [['context', 'traits'], objects],
  [['context', '__proto__'], () => [{}, 'x']],
  [['context', 'library'], objects],
  [['context', 'library', 'name'], () => strings()],
  [['context', 'device'], objects],
  [['context', 'device', 'id'], () => ids],
  [['context', 'device', 'type'], () => strings()],
  [['context', 'location'], objects],
  ...['city', 'country', 'region'].map((f) => [['context', 'location', f], () => strings(200)] as const),
  [['context', 'location', 'latitude'], () => [90, -90, 0, -0, 90.000001, -90.000001, Number.NaN, Number.POSITIVE_INFINITY, '1', null, REMOVE]],
  [['context', 'location', 'longitude'], () => [180, -180, 180.000001, -180.5, Number.NaN, Number.NEGATIVE_INFINITY, '1', null, REMOVE]],
  [['context', 'consent'], objects],
  [['context', 'consent', 'categoryPreferences'], () => [...objects(), { a: true, b: false }, { a: 'yes' }, { a: null }, { a: true, b: 1 }]],
  [['context', 'externalIds'], externalIdLists],
  [['context', 'page'], objects],
  [['context', 'page', 'url'], () => strings()],
];

/** the call with `value` put at `path` (the objects on the way made when absent or not objects) */
const putAt = (call: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> => {
  let at = call;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next) || Object.getPrototypeOf(next) !== Object.prototype) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete at[last];
  // an own __proto__ key, as JSON.parse makes it (an assignment would set the prototype)
  else Object.defineProperty(at, last, { value, enumerable: true, writable: true, configurable: true });
  return call;
};

describe('the fast path of Segment call validation answers as zod does', () => {
  it('on valid calls of every type: zod’s data, by the fast path', () => {
    const outcomes = { fast: 0, 'zod accepts': 0, 'zod refuses': 0 };
    fc.assert(
      fc.property(validish, (c) => {
        outcomes[check(c)]++;
        outcomes[check(JSON.parse(JSON.stringify(c)))]++;
      }),
      { numRuns: 1_500 },
    );
    // zod refuses these only when they hold neither id (both are optional); what it accepts, the fast path answers
    expect(outcomes.fast).toBeGreaterThan(0.95 * (outcomes.fast + outcomes['zod accepts']));
    expect(outcomes.fast).toBeGreaterThan(0.3 * (outcomes.fast + outcomes['zod accepts'] + outcomes['zod refuses']));
  });

  it('on calls mutated where validation is delicate: undefined or zod’s data, and never an answer zod would refuse', () => {
    seen.clear();
    const outcomes = { fast: 0, 'zod accepts': 0, 'zod refuses': 0 };
    fc.assert(
      fc.property(validish, fc.array(mutation, { minLength: 1, maxLength: 3 }), (c, mutations) => {
        outcomes[check(mutate(structuredClone(c), mutations))]++;
      }),
      { numRuns: 6_000 },
    );
    const total = outcomes.fast + outcomes['zod accepts'] + outcomes['zod refuses'];
    // not vacuous: the fast path answered often, and zod refused often
    expect(outcomes.fast).toBeGreaterThan(0.2 * total);
    expect(outcomes['zod refuses']).toBeGreaterThan(0.2 * total);
    // every odd value was put somewhere, and the delicate places got the delicate values
    for (const [label] of ODD) expect(seen.get(label) ?? 0, label).toBeGreaterThan(10);
    for (const key of KEYS) expect(seen.get(`set ${key}`) ?? 0, key).toBeGreaterThan(10);
    // (each value at each delicate place, on an otherwise valid call: the next test)
  });

  it('at each delicate place, on an otherwise valid call: every value at and past each limit answered as zod does', () => {
    const outcomes = { fast: 0, 'zod accepts': 0, 'zod refuses': 0 };
    const byPlace = new Map<string, Set<string>>();
    // every value at every place, on each generated call
    fc.assert(
      fc.property(validish, (c) => {
        for (const [path, values] of PLACES) {
          values().forEach((value, v) => {
            const call = structuredClone(c);
            // both ids are optional: one is given, so that what is put decides
            if (call.userId == null && call.anonymousId == null) call.anonymousId = 'a';
            const outcome = check(putAt(call, path, value));
            outcomes[outcome]++;
            const name = `${path.join('.')} #${v}`;
            byPlace.set(name, (byPlace.get(name) ?? new Set()).add(outcome));
          });
        }
      }),
      { numRuns: 40 },
    );
    const total = outcomes.fast + outcomes['zod accepts'] + outcomes['zod refuses'];
    expect(outcomes.fast).toBeGreaterThan(0.3 * total);
    expect(outcomes['zod refuses']).toBeGreaterThan(0.2 * total);
    // the limits themselves were answered by the fast path
    for (const atLimit of [
      'messageId #0',
      'userId #5',
      'userId #10',
      'context.ip #0',
      'context.userAgent #0',
      'context.location.city #0',
      'context.location.latitude #0',
      'context.location.longitude #1',
      'context.externalIds #1',
      'timestamp #1',
    ])
      expect(byPlace.get(atLimit)?.has('fast'), atLimit).toBe(true);
  });

  it('on the awkward cases by name', () => {
    const base = { type: 'track', userId: 'u', event: 'x' };
    const proto = JSON.parse('{"type":"track","userId":"u","event":"x","__proto__":{"a":1}}');
    const answers = [
      // numbers for ids: safe integers only, as their decimal strings
      [{ ...base, userId: 42, context: { device: { id: -7 }, externalIds: [{ id: 0, type: 't' }] } }, 'fast'],
      [{ type: 'alias', userId: 1, previousId: Number.MAX_SAFE_INTEGER }, 'fast'],
      [{ ...base, userId: 2 ** 53 }, 'zod refuses'],
      [{ ...base, userId: 1.5 }, 'zod refuses'],
      [{ ...base, userId: Number.NaN }, 'zod refuses'],
      // null, undefined, absent ids
      [{ ...base, userId: null, anonymousId: 'a' }, 'fast'],
      [{ ...base, userId: undefined, anonymousId: 'a' }, 'fast'],
      [{ ...base, userId: null }, 'zod refuses'],
      [{ ...base, context: { device: { id: null } } }, 'zod refuses'],
      [{ type: 'alias', userId: null, anonymousId: 'a', previousId: 'p' }, 'zod refuses'],
      [{ type: 'group', userId: 'u' }, 'zod refuses'],
      // lengths at and past the limits
      [{ ...base, messageId: s(256), event: s(200), context: { ip: s(64), userAgent: s(2_000), location: { city: s(200) } } }, 'fast'],
      [{ ...base, messageId: '' }, 'zod refuses'],
      [{ ...base, event: s(201) }, 'zod refuses'],
      [{ ...base, context: { ip: s(65) } }, 'zod refuses'],
      // objects that are not plain, keys that copying treats apart
      [proto, 'zod accepts'],
      [{ ...base, properties: { constructor: 'x' } }, 'zod accepts'],
      [{ ...base, properties: new Date(0) }, 'zod refuses'],
      [{ ...base, context: [] }, 'zod refuses'],
      [Object.assign(Object.create(null), base), 'zod accepts'],
      [[base], 'zod refuses'],
      [{ ...base, type: 'toString' }, 'zod refuses'],
    ] as const;
    for (const [input, expected] of answers) expect(check(input), JSON.stringify(input)).toBe(expected);
    // an id sent as a number arrives as its decimal string
    expect(fastSegmentCall({ ...base, userId: -0, anonymousId: 12 })).toMatchObject({ userId: '0', anonymousId: '12' });
  });
});
