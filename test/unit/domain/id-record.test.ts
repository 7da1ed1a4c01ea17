import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { setOwn } from '../../../src/domain/projection/customer360.js';
import { copyIdRecord, idRecord } from '../../../src/domain/shared/id-record.js';

// Records keyed by ids are copied with copyIdRecord instead of a spread (it keeps V8 from making a
// hidden class per copy). Whatever the keys, the copy must be what `{ ...record }` gives, and a
// copy written with setOwn what `{ ...record, [key]: value }` gives: same prototype, same own keys
// in the same order, same values, same JSON.

const RUNS = Number(process.env.LAW_RUNS ?? 1_000);

// keys that order or behave differently: integer-like ones enumerate first, "__proto__" is a
// setter on Object.prototype unless defined as an own key, the others are Object.prototype's
const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', '0', '7', '10', '4294967295', 'a', 'b', 'c:1'), fc.string({ maxLength: 4 }));
const entries = fc.array(fc.tuple(key, fc.oneof(fc.integer(), fc.record({ at: fc.integer() }))), { maxLength: 8 });

/** the record as the code builds one: setOwn into a plain object, or into an idRecord (a copy of a copy) */
const recordOf = (xs: readonly (readonly [string, unknown])[], asIdRecord: boolean): Record<string, unknown> => {
  const r: Record<string, unknown> = asIdRecord ? idRecord() : {};
  for (const [k, v] of xs) setOwn(r, k, v);
  return r;
};

const same = (got: Record<string, unknown>, want: Record<string, unknown>): void => {
  expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) expect(Object.getOwnPropertyDescriptor(got, k)).toEqual(Object.getOwnPropertyDescriptor(want, k));
  expect(JSON.stringify(got)).toBe(JSON.stringify(want));
  expect(got).toStrictEqual(want);
};

const seen = { proto: 0, integer: 0, overwrite: 0, added: 0, deleted: 0, runs: 0 };

describe('copyIdRecord', () => {
  test.prop([entries, fc.boolean(), key, fc.integer(), fc.option(key, { nil: undefined })], { numRuns: RUNS })(
    'is { ...record }, and with setOwn { ...record, [key]: value }, for any keys',
    (xs, asIdRecord, k, v, gone) => {
      const source = recordOf(xs, asIdRecord);
      const before = JSON.stringify(Object.entries(source));
      const copy = copyIdRecord(source);
      same(copy, { ...source });

      const had = Object.hasOwn(source, k);
      setOwn(copy, k, v);
      same(copy, { ...source, [k]: v });
      // the source is another object, untouched
      expect(JSON.stringify(Object.entries(source))).toBe(before);
      // deletes (order ids forgotten, a currency left without orders) as on a spread copy
      if (gone !== undefined) {
        const spread: Record<string, unknown> = { ...source, [k]: v };
        delete copy[gone];
        delete spread[gone];
        same(copy, spread);
        if (Object.hasOwn(source, gone) || gone === k) seen.deleted++;
      }
      // a copy of the copy: what the next event does
      same(copyIdRecord(copy), { ...copy });

      seen.runs++;
      if (Object.hasOwn(copy, '__proto__')) seen.proto++;
      if (Object.keys(copy).some((x) => /^(0|[1-9]\d*)$/.test(x))) seen.integer++;
      if (had) seen.overwrite++;
      else seen.added++;
    },
  );

  test('the generated cases covered every kind of key and write', () => {
    // not vacuous: each interesting case came up in a good share of the runs
    expect(seen.runs).toBe(RUNS);
    for (const n of [seen.proto, seen.integer, seen.overwrite, seen.added, seen.deleted]) expect(n).toBeGreaterThan(RUNS / 20);
  });
});
