import { isCalendarDateTime } from '../../domain/shared/bounds.js';
import { SegmentCall } from './segment.schema.js';

// A hand-written check of the plainly valid Segment calls, ahead of zod. Validating a call with
// SegmentCall cost about 16 us of the ~125 us an in-memory ingest took (zod's generic walk: a
// union, a pipe, a refinement and a copy per field, at call sites shared by every schema); this
// check costs about a third of that (in-memory ingest bench, per call: 21 -> 7 us on a loaded
// machine). The schema stays the spec and the only source of errors: `fastSegmentCall` answers
// exactly what `SegmentCall.parse` would (the same values, in the same key order) or undefined
// whenever it is not sure, and the caller then runs zod as before, so every refusal, message and
// issue path is zod's. A property test holds the two together
// (test/unit/application/segment-fast-parse.test.ts): change both when the schema changes.
//
// What it copies and what it shares: the call, its context and the context's objects are copied
// as zod's looseObject copies them (declared fields first, in the schema's order, then the others
// in the order sent). A record (traits, properties, integrations, categoryPreferences) is returned
// as sent, not copied: zod's copy of it holds the same keys in the same order with the same values
// (it does not look inside them; only a non-enumerable key, which JSON never makes, would stay on
// the original and not on a copy), and nothing after parsing writes into a call or its payload,
// so the copy bought nothing. Only objects of Object.prototype are taken (what JSON.parse makes);
// anything else, and an own `__proto__` or `constructor` key where the answer would depend on it,
// is left to zod.

/** the answer of a field's check when the fast path is not sure: zod decides */
const UNSURE: unique symbol = Symbol('unsure');
type Unsure = typeof UNSURE;

/** a field's check: the value zod's schema would give for a value that is not undefined, or UNSURE */
type Check = (v: unknown) => unknown;

/** a looseObject's declared fields in the schema's order: each one's key, check and whether it is required */
type Shape = {
  readonly keys: readonly string[];
  readonly checks: readonly Check[];
  readonly required: readonly boolean[];
  readonly declared: ReadonlySet<string>;
};
const shape = (fields: readonly (readonly [string, Check] | readonly [string, Check, 'required'])[]): Shape => ({
  keys: fields.map((f) => f[0]),
  checks: fields.map((f) => f[1]),
  required: fields.map((f) => f[2] === 'required'),
  declared: new Set(fields.map((f) => f[0])),
});

const isObjectOfObjectPrototype = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * zod's copy of a looseObject: each declared field present (`in`, as zod asks) with its checked
 * value, an undefined one kept as undefined, then every other enumerable key (for...in, as zod's
 * catchall walks them) as it is. zod leaves a `__proto__` key out of its copy: not taken here.
 */
const looseObject =
  ({ keys, checks, required, declared }: Shape): Check =>
  (input) => {
    if (!isObjectOfObjectPrototype(input)) return UNSURE;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const v = input[key];
      if (v === undefined) {
        if (required[i]) return UNSURE;
        if (key in input) out[key] = undefined;
        continue;
      }
      const checked = checks[i]!(v);
      if (checked === UNSURE) return UNSURE;
      out[key] = checked;
    }
    for (const key in input) {
      if (declared.has(key)) continue;
      if (key === '__proto__') return UNSURE;
      out[key] = input[key];
    }
    return out;
  };

/**
 * z.record(z.string(), ...), returned as sent (see the top): zod takes a plain object (an own
 * `constructor` key makes that depend on its value), copies its own enumerable string keys but a
 * `__proto__` one, and refuses a symbol key.
 */
const isSharedRecord = (v: unknown): v is Record<string, unknown> =>
  isObjectOfObjectPrototype(v) && !Object.hasOwn(v, '__proto__') && !Object.hasOwn(v, 'constructor') && Object.getOwnPropertySymbols(v).length === 0;
const dict: Check = (v) => (isSharedRecord(v) ? v : UNSURE);
const booleans: Check = (v) => {
  if (!isSharedRecord(v)) return UNSURE;
  for (const key in v) if (typeof v[key] !== 'boolean') return UNSURE;
  return v;
};

const string: Check = (v) => (typeof v === 'string' ? v : UNSURE);
const stringUpTo =
  (max: number, min = 0): Check =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max ? v : UNSURE;
/** an id: a string of 1 to 512 characters, or a safe integer as its decimal string (at most 17 characters) */
const id: Check = (v) => (typeof v === 'string' ? (v.length >= 1 && v.length <= 512 ? v : UNSURE) : Number.isSafeInteger(v) ? String(v) : UNSURE);
const nullableId: Check = (v) => (v === null ? null : id(v));
const isoTime: Check = (v) => (typeof v === 'string' && isCalendarDateTime(v) ? v : UNSURE);
const numberIn =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && v >= min && v <= max ? v : UNSURE; // NaN fails both comparisons

const externalId = looseObject(
  shape([
    ['id', id, 'required'],
    ['type', stringUpTo(64, 1), 'required'],
    ['collection', string],
    ['encoding', string],
  ]),
);
const externalIds: Check = (v) => {
  if (!Array.isArray(v) || v.length > 50) return UNSURE;
  const out: unknown[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    // a hole reads as undefined, which is not an object: zod decides
    const x = externalId(v[i]);
    if (x === UNSURE) return UNSURE;
    out[i] = x;
  }
  return out;
};

const context = looseObject(
  shape([
    ['ip', stringUpTo(64)],
    ['userAgent', stringUpTo(2_000)],
    ['channel', string],
    [
      'library',
      looseObject(
        shape([
          ['name', string],
          ['version', string],
        ]),
      ),
    ],
    [
      'device',
      looseObject(
        shape([
          ['id', id],
          ['advertisingId', string],
          ['type', string],
        ]),
      ),
    ],
    [
      'location',
      looseObject(
        shape([
          ['city', stringUpTo(200)],
          ['country', stringUpTo(200)],
          ['region', stringUpTo(200)],
          ['latitude', numberIn(-90, 90)],
          ['longitude', numberIn(-180, 180)],
        ]),
      ),
    ],
    ['consent', looseObject(shape([['categoryPreferences', booleans]]))],
    ['externalIds', externalIds],
    ['traits', dict],
    [
      'page',
      looseObject(
        shape([
          ['path', string],
          ['url', string],
          ['referrer', string],
          ['title', string],
        ]),
      ),
    ],
  ]),
);

/** the fields every call has, in the schema's order; `userId` is where an alias's required one goes */
const common = (userId: readonly [string, Check] | readonly [string, Check, 'required'] = ['userId', nullableId]) =>
  [
    ['type', string],
    ['messageId', stringUpTo(256, 1)],
    userId,
    ['anonymousId', nullableId],
    ['timestamp', isoTime],
    ['originalTimestamp', isoTime],
    ['sentAt', isoTime],
    ['receivedAt', isoTime],
    ['channel', string],
    ['context', context],
    ['integrations', dict],
    ['writeKey', string],
  ] as const;

const callOf: Readonly<Record<string, Check>> = {
  identify: looseObject(shape([...common(), ['traits', dict]])),
  track: looseObject(shape([...common(), ['event', stringUpTo(200, 1), 'required'], ['properties', dict]])),
  page: looseObject(shape([...common(), ['name', string], ['category', string], ['properties', dict]])),
  screen: looseObject(shape([...common(), ['name', string], ['category', string], ['properties', dict]])),
  alias: looseObject(shape([...common(['userId', id, 'required']), ['previousId', id, 'required']])),
  group: looseObject(shape([...common(), ['groupId', id, 'required'], ['traits', dict]])),
};

/** What SegmentCall.parse would answer for `raw`, when it is a plainly valid call; undefined when zod must decide. */
export const fastSegmentCall = (raw: unknown): SegmentCall | undefined => {
  if (!isObjectOfObjectPrototype(raw)) return undefined;
  const type = raw.type;
  // an own property only: `toString` and its kin are Object.prototype's, not a call type
  const check = typeof type === 'string' && Object.hasOwn(callOf, type) ? callOf[type]! : undefined;
  if (!check) return undefined;
  const call = check(raw) as Record<string, unknown> | Unsure;
  // the schema's refinement: an alias has its required userId by now
  if (call === UNSURE || (call.userId == null && call.anonymousId == null)) return undefined;
  return call as SegmentCall;
};

/** SegmentCall.safeParse, by the fast path when it is sure of the answer. */
export const parseSegmentCall = (raw: unknown): ReturnType<typeof SegmentCall.safeParse> => {
  const data = fastSegmentCall(raw);
  return data !== undefined ? { success: true, data } : SegmentCall.safeParse(raw);
};
