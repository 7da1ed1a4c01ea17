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

/** `unknown field; did you mean operationId?`, or the known fields when none is close. */
export const unknownFieldMessage = (name: string, known: readonly string[]): string => {
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
  (known: readonly string[]) =>
  (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const unknown = Object.keys(value).filter((k) => !known.includes(k));
    if (unknown.length === 0) return value;
    for (const k of unknown) ctx.addIssue({ code: 'custom', path: [k], message: unknownFieldMessage(k, known) });
    return Object.fromEntries(Object.entries(value).filter(([k]) => known.includes(k)));
  };

/** An object schema that refuses fields it does not name, each by name (see refuseUnknownFields). */
export const strictFields = <S extends z.ZodRawShape>(shape: S) => z.preprocess(refuseUnknownFields(Object.keys(shape)), z.strictObject(shape));
