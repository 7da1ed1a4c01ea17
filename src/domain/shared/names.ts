import { editDistance } from '../matching/similarity.js';
import { z } from 'zod';

// Unknown names in strict documents (request bodies, the identity rules file): each is refused by
// name, with the known name it is most likely a misspelling of. Pure.

/** The known name within `maxEdits` edits of `name` (case ignored), the nearest first; undefined when none is. */
export const closestName = (name: string, known: readonly string[], maxEdits = 2): string | undefined => {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = maxEdits + 1;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
};

const bare = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
const undoubled = (s: string): string => bare(s).replace(/(.)\1+/g, '$1');
/** whether a and b differ by one swap of neighbouring characters */
const swapped = (a: string, b: string): boolean => {
  if (a.length !== b.length || a === b) return false;
  let i = 0;
  while (a[i] === b[i]) i++;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
};

/** whether `short` is `long` less one character */
const dropped = (short: string, long: string): boolean => {
  if (short.length + 1 !== long.length) return false;
  let i = 0;
  while (i < short.length && short[i] === long[i]) i++;
  return short.slice(i) === long.slice(i + 1);
};

/**
 * The known name `name` is almost surely a misspelling of, or undefined. Only the slips that are
 * near-certain count: a separator or case away (`userid`, `User-Id`), a letter doubled or undoubled
 * (`emaill`), two neighbouring letters swapped (`emial`), a plural (`phones`), a letter dropped
 * from a name of six letters or more (`devce_id`). Names a letter apart otherwise are often meant
 * (`cms_id` beside `crm_id`, `user_uid`, `email2`) and are left alone.
 */
export const misspellingOf = (name: string, known: readonly string[]): string | undefined =>
  known.find(
    (k) =>
      name !== k &&
      (bare(name) === bare(k) ||
        undoubled(name) === undoubled(k) ||
        swapped(bare(name), bare(k)) ||
        bare(name) === `${bare(k)}s` ||
        (bare(k).length >= 6 && dropped(bare(name), bare(k)))),
  );

/** `unknown field; did you mean operationId?`, or the known fields when none is close. */
const unknownFieldMessage = (name: string, known: readonly string[]): string => {
  const close = closestName(name, known);
  if (close !== undefined) return `unknown field; did you mean ${close}?`;
  return known.length ? `unknown field; the fields are ${known.join(', ')}` : 'unknown field; no fields are taken here';
};

/**
 * A preprocess step for z.preprocess(step, z.strictObject(shape)): each field not among `known` is
 * an issue at its own path naming it (with the known field it likely misspells), and is removed so
 * the strict object reports only what else is wrong.
 */
export const refuseUnknownFields =
  (known: readonly string[], options: { readonly checkTheRest?: boolean } = {}) =>
  (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const unknown = Object.keys(value).filter((k) => !known.includes(k));
    if (unknown.length === 0) return value;
    for (const k of unknown)
      ctx.addIssue(
        // zod stops at the preprocess step on any issue but an unrecognized key: said as one, the
        // object's other fields are checked too and every problem is named at once
        options.checkTheRest
          ? { code: 'unrecognized_keys', keys: [k], path: [k], message: unknownFieldMessage(k, known) }
          : { code: 'custom', path: [k], message: unknownFieldMessage(k, known) },
      );
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => known.includes(k)));
    if (options.checkTheRest)
      // a misspelt field is checked as the field it misspells when that one is missing: its own
      // problems are named, and the field is not reported missing besides
      for (const k of unknown) {
        const meant = closestName(k, known);
        if (meant !== undefined && !(meant in rest)) rest[meant] = (value as Record<string, unknown>)[k];
      }
    return rest;
  };

/**
 * An object schema that refuses fields it does not name, each by name (see refuseUnknownFields),
 * and checks the fields it does name all the same: a document's every problem is named at once.
 */
export const strictFields = <S extends z.ZodRawShape>(shape: S) =>
  z.preprocess(refuseUnknownFields(Object.keys(shape), { checkTheRest: true }), z.strictObject(shape));
