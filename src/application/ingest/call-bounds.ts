import { firstIllFormedText, type IllFormedText, mayHoldSurrogateEscape } from '../../domain/shared/well-formed.js';
import { utf8Bytes } from '../ports/commit-checks.js';
import type { QuarantineReason } from '../ports/quarantine.port.js';
import { formatPath } from '../segment/segment.schema.js';
import { ignoredForHash, withoutWriteKey } from './call-shape.js';

// The bounds of one Segment call, the same on every intake: the HTTP API (a body is refused before
// it is parsed further), a Kinesis record (ours or another producer's), `c360 import`, the queued
// intake and the core used as a library (IngestUseCase checks every call it is handed). Checked
// before anything walks the call: a value nested thousands deep overflows the stack of any
// recursive walk (a payload hash, JSON.stringify, a store's serializer), and such a call must be
// refused as invalid and quarantined, never throw. A string holding a lone UTF-16 surrogate (JSON's
// `"\udc00"`) has no UTF-8 form: it is refused as BODY_NOT_UTF8 naming its path, as the HTTP API
// refuses such a body, so no intake stores what another would refuse. So is a number that is not
// finite (1e400, which JSON.parse reads as Infinity): VALIDATION_FAILED naming its path, never
// stored (nor acknowledged) as the null JSON.stringify would write.

/** JSON nesting allowed in a call or a request body: objects and arrays, the top level counting as 1. */
export const MAX_JSON_DEPTH = 64;

/** Segment's limit of one call: its JSON, UTF-8, without the write key (a credential, never kept). */
export const MAX_CALL_BYTES = 32 * 1024;

/**
 * The deepest nesting of objects and arrays in JSON text, counted without parsing (brackets inside
 * strings do not count) and stopping once it passes `stopAbove`. Linear, no recursion, no allocation.
 */
export const jsonDepth = (text: string, stopAbove = Number.POSITIVE_INFINITY): number => {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) depth--;
  }
  return deepest;
};

const isWalked = (v: unknown): v is object => typeof v === 'object' && v !== null;

/**
 * Whether a value nests objects and arrays deeper than `max` (the top level counting as 1). Walked
 * without recursion and without building paths, so it is cheap on the calls that pass.
 */
export const deeperThan = (value: unknown, max: number): boolean => {
  if (!isWalked(value)) return false;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length) {
    const v = stack.pop() as object;
    const d = depths.pop()!;
    if (d > max) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (!isWalked(x)) continue;
      stack.push(x);
      depths.push(d + 1);
    }
  }
  return false;
};

/**
 * The quarantine's mark of a number that was not finite (`{"$nonFinite": "Infinity"}`, see
 * quarantinePayloadJson): a replay reads it back as such a number, refused again for the same reason.
 */
const isNonFiniteMark = (v: object): boolean => {
  if (!('$nonFinite' in v) || Array.isArray(v)) return false;
  const mark = (v as { $nonFinite: unknown }).$nonFinite;
  return (mark === 'Infinity' || mark === '-Infinity' || mark === 'NaN') && Object.keys(v).length === 1;
};

/**
 * What is wrong with a call's shape, walked once without recursion and without building paths:
 * nesting deeper than `max` (which wins: nothing may walk such a value recursively), else a number
 * that is not finite (JSON.parse reads 1e400 as Infinity, and JSON.stringify would write it as null).
 */
const shapeProblem = (value: unknown, max: number): 'too-deep' | 'non-finite' | undefined => {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'non-finite';
  if (!isWalked(value)) return undefined;
  if (isNonFiniteMark(value)) return 'non-finite';
  let sawNonFinite = false;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length) {
    const v = stack.pop() as object;
    const d = depths.pop()!;
    if (d > max) return 'too-deep';
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof x === 'number') {
        if (!Number.isFinite(x)) sawNonFinite = true;
        continue;
      }
      if (!isWalked(x)) continue;
      if (isNonFiniteMark(x)) sawNonFinite = true;
      stack.push(x);
      depths.push(d + 1);
    }
  }
  return sawNonFinite ? 'non-finite' : undefined;
};

/** The paths of the numbers that are not finite in a value within MAX_JSON_DEPTH, in document order (at most `limit`). */
export const nonFinitePaths = (value: unknown, limit = 10): string[] => {
  const found: string[] = [];
  const stack: { readonly v: unknown; readonly path: readonly (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length && found.length < limit) {
    const { v, path } = stack.pop()!;
    if ((typeof v === 'number' && !Number.isFinite(v)) || (isWalked(v) && isNonFiniteMark(v))) {
      found.push(formatPath(path) || '(root)');
      continue;
    }
    if (!isWalked(v)) continue;
    const entries: [string | number, unknown][] = Array.isArray(v) ? Array.from(v, (x, i) => [i, x]) : Object.entries(v); // Array.from: a hole is a member (undefined), as JSON reads it (null)
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i]![1], path: [...path, entries[i]![0]] });
  }
  return found;
};

/**
 * The refusal of a call holding a number that is not finite, naming each: a number too large for a
 * double (1e400) must not be stored, nor answered as accepted, as null.
 */
export const nonFinite = (call: unknown): QuarantineReason => {
  const paths = nonFinitePaths(call);
  return {
    code: 'VALIDATION_FAILED',
    message: paths.map((p) => `${p} must be a finite number`).join('; '),
    issues: paths.map((path) => ({ path, message: 'must be a finite number' })),
  };
};

/** The path of the first object or array nested deeper than `max` in a parsed value (walked without recursion). */
export const tooDeepPath = (value: unknown, max: number): string | undefined => {
  const stack: { readonly v: unknown; readonly path: readonly (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= max) return formatPath(path) || '(root)';
    const entries: [string | number, unknown][] = Array.isArray(v) ? Array.from(v, (x, i) => [i, x]) : Object.entries(v); // Array.from: a hole is a member (undefined), as JSON reads it (null)
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i]![1], path: [...path, entries[i]![0]] });
  }
  return undefined;
};

/** The refusal of a value nested deeper than MAX_JSON_DEPTH (`what`: the call, the request body, the record). */
export const nestingTooDeep = (value: unknown, what = 'the call'): QuarantineReason => {
  const path = tooDeepPath(value, MAX_JSON_DEPTH) ?? '(root)';
  return {
    code: 'NESTING_TOO_DEEP',
    message: `${what} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels (at ${path})`,
    issues: [{ path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
  };
};

const kb = (n: number) => `${Math.round(n / 1024)} KB`;

/** The refusal of a call over MAX_CALL_BYTES (`path`: where it is, e.g. `(root)` or `batch[3]`). */
export const callTooLarge = (path = '(root)'): QuarantineReason => ({
  code: 'CALL_TOO_LARGE',
  message: `the call is larger than Segment's limit of ${kb(MAX_CALL_BYTES)} per call; send less data per call`,
  issues: [{ path, message: `at most ${MAX_CALL_BYTES} bytes` }],
});

/** The UTF-8 size of JSON text, counted only when it may be over MAX_CALL_BYTES. */
const sizeOf = (text: string): number =>
  // at most 3 bytes per UTF-16 unit: most calls are measured without counting
  text.length * 3 <= MAX_CALL_BYTES ? text.length : utf8Bytes(text);

/** The UTF-8 size of a call's JSON without its write key; call it only on a value within MAX_JSON_DEPTH. */
export const callBytes = (call: unknown): number => sizeOf(JSON.stringify(withoutWriteKey(call)) ?? '');

/**
 * A property named `__proto__` as JSON text writes it. JSON.parse keeps such a key as an own
 * property, but most of what copies an object (a zod record, an assignment, Object.assign) either
 * drops it or makes it the copy's prototype: it would be acknowledged and then silently lost, or
 * pollute a copy. A call holding one is refused naming its path. A string value can never be
 * followed by a colon, and a quote inside a string is escaped, so only a key matches.
 */
const PROTO_KEY_TEXT = '"__proto__":';

/** The paths of the `__proto__` keys in a value within MAX_JSON_DEPTH (at most `limit`), an object's own before those of what it holds. */
export const protoKeyPaths = (value: unknown, limit = 10): string[] => {
  const found: string[] = [];
  const stack: { readonly v: unknown; readonly path: readonly (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length && found.length < limit) {
    const { v, path } = stack.pop()!;
    if (!isWalked(v)) continue;
    const entries: [string | number, unknown][] = Array.isArray(v) ? Array.from(v, (x, i) => [i, x]) : Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i]![1], path: [...path, entries[i]![0]] });
    // Object.entries lists an own __proto__ key; its path is reported before what it holds
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) found.push(formatPath([...path, '__proto__']));
  }
  return found;
};

/** The refusal of a call holding a `__proto__` key (see PROTO_KEY_TEXT), naming each. */
export const protoKey = (paths: readonly string[]): QuarantineReason => ({
  code: 'VALIDATION_FAILED',
  message: `${paths.join(', ')}: "__proto__" is not accepted as a property name (it cannot be stored faithfully); rename the field`,
  issues: paths.map((path) => ({ path, message: '"__proto__" is not accepted as a property name' })),
});

/** The refusal of a call whose JSON text (`text`, of the call) names a `__proto__` key, or undefined. */
const protoKeyProblem = (text: string, call: unknown): QuarantineReason | undefined => {
  if (!text.includes(PROTO_KEY_TEXT)) return undefined;
  const paths = protoKeyPaths(call);
  return paths.length ? protoKey(paths) : undefined;
};

/** The refusal of a call holding a lone surrogate (the same code as the HTTP API's for such a body). */
export const loneSurrogate = (ill: IllFormedText): QuarantineReason => {
  const path = formatPath(ill.path) || '(root)';
  return {
    code: 'BODY_NOT_UTF8',
    message: `the call is not UTF-8 text: ${ill.key ? `a property name of ${path}` : `the string at ${path}`} holds a lone UTF-16 surrogate, which has no UTF-8 form`,
    issues: [{ path, message: `${ill.key ? 'a property name holds' : 'holds'} a lone surrogate` }],
  };
};

/**
 * Why a call is out of bounds (too deep, a number that is not finite, too large, a `__proto__` key, a lone surrogate), or undefined. A batch's call is measured with the batch's shared
 * context merged in: the call as it is ingested, and as every later step sees it (the queue's
 * consumer, a replay of its quarantine entry), so a call the queued intake takes is never refused
 * by its consumer for its size, and a replay is measured as its first try was.
 */
export const callBoundsProblem = (call: unknown): QuarantineReason | undefined => {
  const shape = shapeProblem(call, MAX_JSON_DEPTH);
  if (shape === 'too-deep') return nestingTooDeep(call);
  if (shape === 'non-finite') return nonFinite(call);
  const text = JSON.stringify(withoutWriteKey(call)) ?? '';
  if (sizeOf(text) > MAX_CALL_BYTES) return callTooLarge();
  const proto = protoKeyProblem(text, call);
  if (proto) return proto;
  // JSON.stringify writes a lone surrogate as its escape: most calls hold none and skip the walk
  const ill = mayHoldSurrogateEscape(text) ? firstIllFormedText(call) : undefined;
  return ill ? loneSurrogate(ill) : undefined;
};

/** what JSON.stringify escapes in a string: a quote, a backslash, a control character, a surrogate (a lone one is escaped) */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** whether jsonString escaped anything since plainMembers began: if not, the text holds no backslash */
let escaped = false;

/**
 * whether a key written since plainMembers began ends with `__proto__`: if not, the text cannot
 * hold PROTO_KEY_TEXT, whose closing quote and colon end a key (a quote inside a string is
 * escaped, so the character before it would be a backslash), and its scan is skipped
 */
let protoLike = false;

/** Notes a key written into the text (see protoLike); one character compared for most keys. */
const wroteKey = (k: string): void => {
  if (k.charCodeAt(k.length - 1) === 95 /* _ */ && k.endsWith('__proto__')) protoLike = true;
};

/** JSON.stringify's text of a string, without calling it for the many strings it would only quote */
const jsonString = (s: string): string => {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  escaped = true;
  return JSON.stringify(s);
};

/** Sorts keys as Array.prototype.sort does (by UTF-16 code units; keys are distinct), by insertion when they are few. */
const sortKeys = (keys: string[]): void => {
  if (keys.length > 12) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
};

/**
 * The stable JSON text (stableJson's) of a value met at `depth` in a call, when it is plain JSON
 * data within the call's bounds: strings, finite numbers, booleans, null, and arrays and objects
 * of Object.prototype (or none) nested no deeper than MAX_JSON_DEPTH, no quarantine mark of a
 * number that is not finite among them. Anything else (too deep, not finite, a Date or another
 * value with a toJSON or a prototype of its own, a function, a symbol, a bigint) gives undefined,
 * for the general walks to judge. For such data JSON.stringify writes the same members, only in
 * their own order: the same length and the same string escapes. Recursive, but no deeper than
 * MAX_JSON_DEPTH.
 */
const plainStableText = (v: unknown, depth: number): string | undefined => {
  switch (typeof v) {
    case 'string':
      return jsonString(v);
    case 'number':
      // JSON.stringify writes a finite number as its String (-0 as 0)
      return Number.isFinite(v) ? String(v) : undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return 'null';
  if (depth > MAX_JSON_DEPTH) return undefined;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return undefined;
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      // a hole or undefined is written as null, by JSON.stringify and stableJson alike
      const text = x === undefined ? 'null' : plainStableText(x, depth + 1);
      if (text === undefined) return undefined;
      out += i ? `,${text}` : text;
    }
    return `${out}]`;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || isNonFiniteMark(v)) return undefined;
  const keys = Object.keys(v);
  sortKeys(keys);
  let out = '{';
  for (const k of keys) {
    const x: unknown = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    const text = plainStableText(x, depth + 1);
    if (text === undefined) return undefined;
    wroteKey(k);
    out += `${out.length > 1 ? ',' : ''}${jsonString(k)}:${text}`;
  }
  return `${out}}`;
};

/**
 * callBoundsProblem, and when the call is within its bounds the text of its payload hash
 * (payloadText), from one walk where the call is plain JSON data (any call read from JSON text
 * within the bounds): its stable JSON text is as long as JSON.stringify's and holds the same string
 * escapes, so it measures the call and finds its escapes as JSON.stringify's text would. Any other
 * call is judged by callBoundsProblem, and `hashText` is undefined (take payloadText of the call).
 */
export const boundedCall = (call: unknown): { readonly problem: QuarantineReason | undefined; readonly hashText: string | undefined } => {
  const members = plainMembers(call);
  if (!members) return { problem: callBoundsProblem(call), hashText: undefined };
  // the measured text (without the write key) is only counted: most calls are judged by its length
  // alone, and it is written (and read whole) only for what may need it, as sizeOf, the
  // __proto__ scan and the surrogates' do
  let sizedLength = 2;
  let hashed = '';
  for (let i = 0; i < members.length; i += 2) {
    const key = members[i]!;
    const member = members[i + 1]!;
    if (key !== 'writeKey') sizedLength += sizedLength > 2 ? member.length + 1 : member.length;
    if (!ignoredForHash(key)) hashed += hashed ? `,${member}` : member;
  }
  let text: string | undefined;
  // sizeOf's: at most 3 bytes per UTF-16 unit
  if (sizedLength * 3 > MAX_CALL_BYTES && utf8Bytes((text ??= sizedText(members))) > MAX_CALL_BYTES) return { problem: callTooLarge(), hashText: undefined };
  const proto = protoLike ? protoKeyProblem((text ??= sizedText(members)), call) : undefined;
  if (proto) return { problem: proto, hashText: undefined };
  // JSON.stringify's text has a surrogate's escape only where this one has: none without a backslash
  const ill = escaped && mayHoldSurrogateEscape((text ??= sizedText(members))) ? firstIllFormedText(call) : undefined;
  return ill ? { problem: loneSurrogate(ill), hashText: undefined } : { problem: undefined, hashText: `{${hashed}}` };
};

/** The measured text of a call's members (plainMembers'): all but the write key, as JSON.stringify's is as long. */
const sizedText = (members: readonly string[]): string => {
  let text = '';
  for (let i = 0; i < members.length; i += 2) if (members[i] !== 'writeKey') text += text ? `,${members[i + 1]}` : members[i + 1];
  return `{${text}}`;
};

/** A call's top-level members in stableJson's order, each key then its `"key":value` text, when it is plain JSON data within the bounds (see plainStableText). */
const plainMembers = (call: unknown): string[] | undefined => {
  if (typeof call !== 'object' || call === null || Array.isArray(call) || Object.getPrototypeOf(call) !== Object.prototype || isNonFiniteMark(call))
    return undefined;
  const keys = Object.keys(call);
  sortKeys(keys);
  escaped = false;
  protoLike = false;
  const out: string[] = [];
  for (const k of keys) {
    const x: unknown = (call as Record<string, unknown>)[k];
    if (x === undefined) continue;
    const text = plainStableText(x, 2);
    if (text === undefined) return undefined;
    wroteKey(k);
    out.push(k, `${jsonString(k)}:${text}`);
  }
  return out;
};

/**
 * How deep a payload the quarantine keeps as a value: well past any call (a batch entry wraps its
 * calls in a few levels), well within what JSON.stringify and the stores' walks take.
 */
export const MAX_KEPT_DEPTH = 4 * MAX_JSON_DEPTH;

/**
 * JSON text of a value of any depth, built without recursion (JSON.stringify overflows the stack
 * on a value nested some thousands deep): undefined members are left out of objects and written as
 * null in arrays, as JSON.stringify does; a toJSON method (a Date) is honoured. A cycle (a library
 * caller's object) throws a TypeError, as JSON.stringify does, rather than write forever.
 */
export const deepJsonText = (value: unknown): string => {
  let out = '';
  // the objects being written (a cycle would meet one again)
  const open = new Set<object>();
  // work items: a value to write, a literal piece of text, or the end of an object being written
  const work: ({ readonly v: unknown } | { readonly done: object } | string)[] = [{ v: value }];
  while (work.length) {
    const item = work.pop()!;
    if (typeof item === 'string') {
      out += item;
      continue;
    }
    if ('done' in item) {
      open.delete(item.done);
      continue;
    }
    let v = item.v;
    if (isWalked(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
    if (!isWalked(v)) {
      out += typeof v === 'function' || typeof v === 'symbol' || v === undefined ? 'null' : (JSON.stringify(v) ?? 'null');
      continue;
    }
    if (open.has(v)) throw new TypeError('Converting circular structure to JSON');
    open.add(v);
    work.push({ done: v });
    const parts: ({ readonly v: unknown } | string)[] = [];
    if (Array.isArray(v)) {
      parts.push('[');
      v.forEach((x, i) => parts.push(...(i ? [','] : []), { v: x }));
      parts.push(']');
    } else {
      parts.push('{');
      let first = true;
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        parts.push(`${first ? '' : ','}${JSON.stringify(k)}:`, { v: x });
        first = false;
      }
      parts.push('}');
    }
    for (let i = parts.length - 1; i >= 0; i--) work.push(parts[i]!);
  }
  return out;
};
