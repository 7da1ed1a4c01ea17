// String similarity for the matching comparisons. Written here because the domain imports only zod
// and libphonenumber-js. Both functions are symmetric by construction: the arguments are put in a
// fixed order first, because Jaro's greedy character matching can count transpositions differently
// depending on which string it walks.

const ordered = (a: string, b: string): readonly [string, string] => (a <= b ? [a, b] : [b, a]);

const jaro = (s: string, t: string): number => {
  if (s === t) return 1;
  if (s.length === 0 || t.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(s.length, t.length) / 2) - 1);
  const sMatched = new Array<boolean>(s.length).fill(false);
  const tMatched = new Array<boolean>(t.length).fill(false);
  let matches = 0;
  for (let i = 0; i < s.length; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(t.length - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (tMatched[j] || s[i] !== t[j]) continue;
      sMatched[i] = tMatched[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transposed = 0;
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    if (!sMatched[i]) continue;
    while (!tMatched[k]) k++;
    if (s[i] !== t[k]) transposed++;
    k++;
  }
  return (matches / s.length + matches / t.length + (matches - transposed / 2) / matches) / 3;
};

/** Jaro-Winkler similarity in [0, 1]: 1 for equal strings, with a bonus for a common prefix (up to 4). */
export const jaroWinkler = (a: string, b: string): number => {
  const [s, t] = ordered(a, b);
  const j = jaro(s, t);
  let prefix = 0;
  while (prefix < 4 && prefix < s.length && prefix < t.length && s[prefix] === t[prefix]) prefix++;
  return j + prefix * 0.1 * (1 - j);
};

/** Levenshtein distance (insert, delete, substitute), with adjacent transpositions counted as one edit. */
export const editDistance = (a: string, b: string): number => {
  const [s, t] = ordered(a, b);
  // three rolling rows: the one before the previous is needed for transpositions
  let before = new Array<number>(t.length + 1).fill(0);
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[t.length]!;
};
