// Blocked-value patterns come from a rules file and run on every identifier of every call, on V8's
// backtracking engine: a pattern such as ^(a+)+$ takes time exponential in the input (28 characters
// blocked a process for 4.7 s). Patterns are therefore checked when the rules are loaded, and one
// that could backtrack without bound is refused, naming why. The check is conservative (a pattern it
// refuses may be harmless), simple, and pure: it reads the pattern's source.
//
// Refused: backreferences and lookarounds; a group repeated (*, +, {n}, {n,} or {n,m} with m > 1)
// that itself holds a quantifier or an alternation; more than MAX_WIDE_REPEATS wide repeats (*, +,
// {n,}, or {n,m} of more than 8 counts) in a pattern (each multiplies the backtracking by the
// value's length: a+a+a+a+b took minutes on 320 characters); more than MAX_PATTERN_CHOICES ways
// through its narrow repeats (?, {n,m}) and alternations; more than MAX_PATTERN_LENGTH characters.
// What remains costs at most a bounded multiple of the value's length squared, and values are
// bounded too (MAX_VALUE_LENGTH: a longer value is refused as an identifier, never run).

/** Longest blocked-value pattern, in characters. */
export const MAX_PATTERN_LENGTH = 256;
/** Most blocked-value patterns in one rules document. */
export const MAX_PATTERNS = 100;
/** Most ways through a pattern's narrow repeats (`?`, `{n,m}` of at most 8 counts) and alternations (`|`), multiplied. */
export const MAX_PATTERN_CHOICES = 32;
/** A repeat of more counts than this (`{2,64}`) counts as a wide one, as `*` and `+` do. */
const WIDE_REPEAT = 8;
/**
 * Most wide repeats in one pattern: two cost at most the value's length squared (about 100,000
 * steps at 320 characters), three its cube (`a+a+a+a+b` took minutes on 320 characters).
 */
export const MAX_WIDE_REPEATS = 2;

type Frame = { quantified: boolean; branches: number; choices: number };

const QUANTIFIER = /^\{(\d+)(,(\d*))?\}/;

/** Why `pattern` could take unbounded time on V8's engine, or undefined when it cannot. */
export const unsafePatternReason = (pattern: string): string | undefined => {
  if (pattern.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
  const stack: Frame[] = [{ quantified: false, branches: 1, choices: 1 }];
  let repeats = 0;
  // what a quantifier at i applies to: a closed group (its frame), another atom, or nothing yet
  let last: Frame | 'atom' | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const top = stack.at(-1)!;
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'it holds a backreference (\\1 ... \\9, \\k<name>), which can take exponential time';
      i++;
      last = 'atom';
      continue;
    }
    if (ch === '[') {
      // a character class is one atom: skip to its closing bracket
      let j = i + 1;
      if (pattern[j] === '^') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      i = j;
      last = 'atom';
      continue;
    }
    if (ch === '(') {
      if (/^\(\?(=|!|<=|<!)/.test(pattern.slice(i, i + 4))) return 'it holds a lookaround ((?=, (?!, (?<=, (?<!), which can take exponential time';
      const named = /^\(\?(:|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i, i + 40));
      if (named) i += named[0].length - 1;
      stack.push({ quantified: false, branches: 1, choices: 1 });
      last = undefined;
      continue;
    }
    if (ch === ')') {
      if (stack.length === 1) return undefined; // unbalanced: new RegExp refuses it, with its own message
      const group = stack.pop()!;
      const parent = stack.at(-1)!;
      parent.quantified ||= group.quantified;
      parent.choices *= group.choices * group.branches;
      last = group;
      continue;
    }
    if (ch === '|') {
      top.branches++;
      last = undefined;
      continue;
    }
    let min = 0;
    let max: number | undefined;
    let length = 1;
    if (ch === '*' || ch === '+') {
      min = ch === '+' ? 1 : 0;
      max = Number.POSITIVE_INFINITY;
    } else if (ch === '?') max = 1;
    else if (ch === '{') {
      const q = QUANTIFIER.exec(pattern.slice(i));
      if (q) {
        min = Number(q[1]);
        max = q[2] === undefined ? min : q[3] === '' ? Number.POSITIVE_INFINITY : Number(q[3]);
        length = q[0].length;
      }
    }
    if (max === undefined || last === undefined) {
      last = 'atom';
      continue;
    }
    if (max > 1 && typeof last === 'object' && (last.quantified || last.branches > 1))
      return 'it repeats a group that itself repeats or alternates (a nested quantifier such as (a+)+ or (a|b)*), which can take exponential time';
    // a wide repeat ({2,64}) backtracks like an unbounded one; a narrow one ({2,4}, ?) is as many
    // choices as the counts it allows
    const wide = max - min + 1 > WIDE_REPEAT;
    if (wide && ++repeats > MAX_WIDE_REPEATS)
      return `it repeats more than ${MAX_WIDE_REPEATS} items without bound or over a wide range (such as a+b+c+ or .*x.*y.*): each more multiplies the time by the value's length; split it into several patterns, or list fixed values under blocked.values`;
    if (!wide) top.choices *= Math.max(1, max - min + 1);
    top.quantified = true;
    i += length - 1;
    if (pattern[i + 1] === '?') i++; // lazy
    last = undefined;
  }
  const root = stack[0]!;
  if (root.choices * root.branches > MAX_PATTERN_CHOICES)
    return `it has more than ${MAX_PATTERN_CHOICES} ways through its bounded repeats (?, {n,m}) and alternations; list fixed values under blocked.values or split it into several patterns`;
  return undefined;
};
