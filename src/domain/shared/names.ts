import { editDistance } from '../matching/similarity.js';

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
