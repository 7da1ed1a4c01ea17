/** levels written by recursion (fast); anything deeper is written by the loop below (any depth) */
const RECURSION_DEPTH = 128;

/**
 * JSON with object keys sorted, so equal payloads hash equally whatever their key order. Safe on a
 * value of any depth: past RECURSION_DEPTH levels the rest is written without recursion, so a
 * value nested some thousands deep cannot overflow the stack.
 */
export const stableJson = (value: unknown): string => recursive(value, 0);

const recursive = (value: unknown, depth: number): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (depth >= RECURSION_DEPTH) return iterative(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (value[i] === undefined ? 'null' : recursive(value[i], depth + 1));
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${recursive(v, depth + 1)}`;
  }
  return `${out}}`;
};

/** stableJson's output, built with a stack of its own instead of recursion */
const iterative = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  let out = '';
  // work items: a value to write, or a literal piece of text (written in pop order)
  const work: unknown[] = [];
  const text: boolean[] = [];
  const push = (item: unknown, isText: boolean) => {
    work.push(item);
    text.push(isText);
  };
  push(value, false);
  while (work.length) {
    const item = work.pop();
    if (text.pop()) {
      out += item as string;
      continue;
    }
    if (item === null || typeof item !== 'object') {
      out += JSON.stringify(item) ?? 'null';
      continue;
    }
    // pushed last part first
    if (Array.isArray(item)) {
      push(']', true);
      for (let i = item.length - 1; i >= 0; i--) {
        push(item[i] === undefined ? 'null' : item[i], item[i] === undefined);
        if (i) push(',', true);
      }
      out += '[';
      continue;
    }
    const obj = item as Record<string, unknown>;
    const keys = Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined);
    push('}', true);
    for (let i = keys.length - 1; i >= 0; i--) {
      push(obj[keys[i]!], false);
      push(`${i ? ',' : ''}${JSON.stringify(keys[i])}:`, true);
    }
    out += '{';
  }
  return out;
};
