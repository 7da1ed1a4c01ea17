// String similarity for the matching comparisons. Written here because the domain imports only zod
// and libphonenumber-js. Both functions are symmetric by construction: the arguments are put in a
// fixed order first, because Jaro's greedy character matching can count transpositions differently
// depending on which string it walks. Every pair a tenant scores runs through them (a fit compares
// tens of thousands of pairs), so they work on char codes in reused scratch arrays and allocate
// nothing per call; the scratch never outlives a call, so the functions stay pure.

let sFlags = new Uint8Array(64);
let tFlags = new Uint8Array(64);

const jaro = (s: string, t: string): number => {
  if (s === t) return 1;
  const sl = s.length;
  const tl = t.length;
  if (sl === 0 || tl === 0) return 0;
  if (sFlags.length < sl) sFlags = new Uint8Array(sl * 2);
  if (tFlags.length < tl) tFlags = new Uint8Array(tl * 2);
  sFlags.fill(0, 0, sl);
  tFlags.fill(0, 0, tl);
  const window = Math.max(0, Math.floor(Math.max(sl, tl) / 2) - 1);
  let matches = 0;
  for (let i = 0; i < sl; i++) {
    const c = s.charCodeAt(i);
    const to = Math.min(tl - 1, i + window);
    for (let j = i > window ? i - window : 0; j <= to; j++) {
      if (tFlags[j] === 1 || t.charCodeAt(j) !== c) continue;
      sFlags[i] = 1;
      tFlags[j] = 1;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transposed = 0;
  let k = 0;
  for (let i = 0; i < sl; i++) {
    if (sFlags[i] === 0) continue;
    while (tFlags[k] === 0) k++;
    if (s.charCodeAt(i) !== t.charCodeAt(k)) transposed++;
    k++;
  }
  return (matches / sl + matches / tl + (matches - transposed / 2) / matches) / 3;
};

/** Jaro-Winkler similarity in [0, 1]: 1 for equal strings, with a bonus for a common prefix (up to 4). */
export const jaroWinkler = (a: string, b: string): number => {
  const s = a <= b ? a : b;
  const t = a <= b ? b : a;
  const j = jaro(s, t);
  let prefix = 0;
  while (prefix < 4 && prefix < s.length && prefix < t.length && s.charCodeAt(prefix) === t.charCodeAt(prefix)) prefix++;
  return j + prefix * 0.1 * (1 - j);
};

let before = new Int32Array(64);
let previous = new Int32Array(64);
let current = new Int32Array(64);

/** Levenshtein distance (insert, delete, substitute), with adjacent transpositions counted as one edit. */
export const editDistance = (a: string, b: string): number => {
  const s = a <= b ? a : b;
  const t = a <= b ? b : a;
  const n = t.length;
  if (previous.length <= n) {
    before = new Int32Array((n + 1) * 2);
    previous = new Int32Array((n + 1) * 2);
    current = new Int32Array((n + 1) * 2);
  }
  // three rolling rows: the one before the previous is needed for transpositions
  for (let j = 0; j <= n; j++) previous[j] = j;
  for (let i = 1; i <= s.length; i++) {
    const si = s.charCodeAt(i - 1);
    current[0] = i;
    for (let j = 1; j <= n; j++) {
      const tj = t.charCodeAt(j - 1);
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (si === tj ? 0 : 1));
      if (i > 1 && j > 1 && si === t.charCodeAt(j - 2) && s.charCodeAt(i - 2) === tj) best = Math.min(best, before[j - 2]! + 1);
      current[j] = best;
    }
    const spare = before;
    before = previous;
    previous = current;
    current = spare;
  }
  return previous[n]!;
};

/** True when the strings differ by at most one edit (as `editDistance` counts them), in one pass. */
const withinOneEdit = (s: string, t: string): boolean => {
  if (s === t) return true;
  const [short, long] = s.length <= t.length ? [s, t] : [t, s];
  if (long.length - short.length > 1) return false;
  let i = 0;
  while (i < short.length && short.charCodeAt(i) === long.charCodeAt(i)) i++;
  // an insertion or deletion at i
  if (long.length !== short.length) return short.slice(i) === long.slice(i + 1);
  // a substitution at i, or the two characters from i swapped
  if (short.slice(i + 1) === long.slice(i + 1)) return true;
  return i + 1 < short.length && short[i] === long[i + 1] && short[i + 1] === long[i] && short.slice(i + 2) === long.slice(i + 2);
};

/** `editDistance(a, b) <= max`, answered without the full table where the lengths or one pass settle it. */
export const withinEdits = (a: string, b: string, max: number): boolean => {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > max) return false;
  if (max === 1) return withinOneEdit(a, b);
  return editDistance(a, b) <= max;
};
