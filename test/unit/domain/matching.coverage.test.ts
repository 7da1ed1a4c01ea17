import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { COMPARISONS } from '../../../src/domain/matching/comparisons.js';
import {
  COVERAGE_RULE,
  countCarrying,
  coverageAtFit,
  coverageUnknown,
  dueFields,
  type FieldCoverage,
  fieldDeltaOf,
  refitAttempted,
  withRefits,
} from '../../../src/domain/matching/coverage.js';
import type { MatchField, MatchRecord } from '../../../src/domain/matching/match-record.js';

// The rule that fits a tenant's model again for a field that arrived after the fit: which fields
// are watched, when one is due, and that however records arrive and go a field has the model fitted
// again a bounded number of times, with the count of each watched field exact.

const FIELDS = COMPARISONS.map((c) => c.field);
const named = (i: number): MatchRecord => ({ givenName: `g${i % 7}`, surname: `s${i % 5}`, email: `p${i}@mail.example` });
const dated = (i: number): MatchRecord => ({ ...named(i), dateOfBirth: `19${10 + (i % 80)}-01-01` });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('the coverage rule', () => {
  it('a model fitted without a field watches it from zero; it is due at 10% of the records fitted on, 20 at least', () => {
    const at = coverageAtFit(range(400).map(named));
    expect(at.fittedWith).toMatchObject({ givenName: 400, surname: 400, email: 400 });
    expect(at.fittedWith.dateOfBirth).toBeUndefined();
    expect(at.carrying).toEqual({ dateOfBirth: 0, phone: 0, street: 0, postcode: 0, city: 0, nationalId: 0 });
    let c: FieldCoverage = at;
    for (let i = 0; i < 39; i++) c = countCarrying(c, fieldDeltaOf(undefined, dated(i)), 400);
    expect(dueFields(c, 400)).toEqual([]);
    c = countCarrying(c, fieldDeltaOf(undefined, dated(39)), 400);
    expect(dueFields(c, 400)).toEqual(['dateOfBirth']);
    // a small fit: 20 records at least
    expect(dueFields({ ...at, carrying: { dateOfBirth: 19 } }, 40)).toEqual([]);
    expect(dueFields({ ...at, carrying: { dateOfBirth: 20 } }, 40)).toEqual(['dateOfBirth']);
  });

  it('a record carrying no watched field, or one changing only fields not watched, leaves the coverage as it was (nothing to write)', () => {
    const at = coverageAtFit(range(100).map(named));
    expect(countCarrying(at, fieldDeltaOf(undefined, named(500)), 100)).toBe(at);
    expect(countCarrying(at, fieldDeltaOf(named(1), { ...named(1), email: undefined }), 100)).toBe(at);
    expect(countCarrying(at, fieldDeltaOf(undefined, dated(500)), 100)).not.toBe(at);
    expect(countCarrying(at, fieldDeltaOf(dated(1), named(1)), 100).carrying.dateOfBirth).toBe(0);
  });

  it('a field carried by under 5% of the records at the fit is watched; one carried by more is not, unless it had a refit and has refits left', () => {
    const records = range(100).map((i) => (i < 4 ? dated(i) : i < 10 ? { ...named(i), phone: `44207946${i}` } : named(i)));
    const at = coverageAtFit(records);
    expect(at.carrying.dateOfBirth).toBe(4);
    expect(at.carrying.phone).toBeUndefined();
    const refitted = coverageAtFit(records, withRefits({}, ['phone']));
    expect(refitted.carrying.phone).toBe(6);
    expect(refitted.refits).toEqual({ phone: 1 });
    // due again once twice the records that carried it at the fit carry it
    expect(dueFields({ ...refitted, carrying: { phone: 19 } }, 100)).toEqual([]);
    expect(dueFields({ ...refitted, carrying: { phone: 20 } }, 100)).toEqual(['phone']);
    const spent = coverageAtFit(records, { dateOfBirth: COVERAGE_RULE.refitsPerField, phone: COVERAGE_RULE.refitsPerField });
    expect(spent.carrying.dateOfBirth).toBeUndefined();
    expect(spent.carrying.phone).toBeUndefined();
  });

  it('a refit attempted counts for the field at once; should it not happen, the field is due again only at twice the records it was due at', () => {
    let c: FieldCoverage = coverageAtFit(range(400).map(named));
    for (let i = 0; i < 40; i++) c = countCarrying(c, fieldDeltaOf(undefined, dated(i)), 400);
    expect(dueFields(c, 400)).toEqual(['dateOfBirth']);
    c = refitAttempted(c, ['dateOfBirth']);
    expect(c.refits.dateOfBirth).toBe(1);
    // the refit failed (no new fit): the records that follow do not make it due again, until 80
    for (let i = 40; i < 79; i++) {
      c = countCarrying(c, fieldDeltaOf(undefined, dated(i)), 400);
      expect(dueFields(c, 400)).toEqual([]);
    }
    c = countCarrying(c, fieldDeltaOf(undefined, dated(79)), 400);
    expect(dueFields(c, 400)).toEqual(['dateOfBirth']);
    c = refitAttempted(c, ['dateOfBirth']);
    expect(c.refits.dateOfBirth).toBe(2);
    // a fit after it starts afresh from the records it is fitted on
    expect(coverageAtFit(range(400).map(dated), c.refits).dueWith).toBeUndefined();
  });

  it('a watched field that stays thin is no longer watched once records gained or lost it watchMoves times its due point: its changes write nothing after', () => {
    const at = coverageAtFit(range(400).map(named));
    const bound = COVERAGE_RULE.watchMoves * 40;
    let c: FieldCoverage = at;
    let writes = 0;
    // one record at a time gains a date of birth and loses it: the count never passes 1
    for (let i = 0; i < 3 * bound; i++) {
      const next = countCarrying(c, i % 2 === 0 ? fieldDeltaOf(named(i), dated(i)) : fieldDeltaOf(dated(i), named(i)), 400);
      if (next !== c) writes++;
      c = next;
    }
    expect(writes).toBe(bound);
    expect(c.carrying.dateOfBirth).toBeUndefined();
    expect(dueFields(c, 400)).toEqual([]);
    // the other watched fields still are
    expect(c.carrying.phone).toBe(0);
    // a field that arrives, on the other hand, is due long before the bound
    let d: FieldCoverage = at;
    for (let i = 0; i < 40; i++) d = countCarrying(d, fieldDeltaOf(undefined, dated(i)), 400);
    expect(dueFields(d, 400)).toEqual(['dateOfBirth']);
  });

  it('an entry written before coverage was kept watches the fields its model lacks, from zero', () => {
    const c = coverageUnknown(['givenName', 'surname', 'email']);
    expect(Object.keys(c.carrying).sort()).toEqual(['city', 'dateOfBirth', 'nationalId', 'phone', 'postcode', 'street']);
    expect(dueFields(countCarrying(c, { dateOfBirth: 20 }, 100), 100)).toEqual(['dateOfBirth']);
  });

  // a record as the set of fields it carries
  const recordOf = (mask: number, i: number): MatchRecord =>
    Object.fromEntries(FIELDS.filter((_, b) => mask & (1 << b)).map((f) => [f, `${f}-${i}`])) as MatchRecord;
  const arbStep = fc.oneof(
    { weight: 6, arbitrary: fc.record({ add: fc.integer({ min: 0, max: 2 ** FIELDS.length - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ remove: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ change: fc.nat(), to: fc.integer({ min: 0, max: 2 ** FIELDS.length - 1 }) }) },
  );

  test.prop(
    [
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 0, max: 2 ** FIELDS.length - 1 }),
      fc.array(arbStep, { minLength: 100, maxLength: 600 }),
      // whether each refit attempted in turn fails (no new fit), cycled
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    ],
    { numRuns: 60 },
  )(
    'however records arrive, change and go, and refits fail, each field has at most refitsPerField refits, and each watched count is exact',
    (first, firstMask, steps, failing) => {
      let records: MatchRecord[] = range(first).map((i) => recordOf(firstMask, i));
      let coverage = coverageAtFit(records);
      let fittedOn = records.length;
      const refitsOf: Partial<Record<MatchField, number>> = {};
      let attempts = 0;
      let next = first;
      for (const step of steps) {
        let before: MatchRecord | undefined;
        let after: MatchRecord | undefined;
        if ('add' in step) {
          after = recordOf(step.add, next++);
          records = [...records, after];
        } else if (records.length === 0) continue;
        else if ('remove' in step) {
          const k = step.remove % records.length;
          before = records[k];
          records = records.filter((_, i) => i !== k);
        } else {
          const k = step.change % records.length;
          before = records[k];
          after = recordOf(step.to, next++);
          records = records.map((r, i) => (i === k ? after! : r));
        }
        coverage = countCarrying(coverage, fieldDeltaOf(before, after), fittedOn);
        for (const [f, n] of Object.entries(coverage.carrying)) expect(n, f).toBe(records.filter((r) => r[f as MatchField] !== undefined).length);
        const due = dueFields(coverage, fittedOn);
        if (due.length > 0) {
          for (const f of due) refitsOf[f] = (refitsOf[f] ?? 0) + 1;
          const attempted = refitAttempted(coverage, due);
          if (failing[attempts++ % failing.length]) {
            // a failed refit: the model and its coverage stay, the attempt counted; not due again at once
            coverage = attempted;
            expect(dueFields(coverage, fittedOn)).toEqual([]);
          } else {
            coverage = coverageAtFit(records, attempted.refits);
            fittedOn = records.length;
          }
        }
      }
      // the runs that matter: some field arrived after the fit and had refits
      fc.pre(Object.keys(refitsOf).length > 0);
      for (const f of FIELDS) expect(refitsOf[f] ?? 0, f).toBeLessThanOrEqual(COVERAGE_RULE.refitsPerField);
      expect(coverage.refits).toEqual(refitsOf);
    },
  );
});
