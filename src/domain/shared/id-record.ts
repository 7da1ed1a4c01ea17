// Records keyed by ids (customer ids in a doc's `applied`, order ids, identifier keys) are copied
// on every event that changes them: a doc is never changed once stored, readers may hold it. V8
// gives a plain object a hidden class per sequence of keys it was given, so every copy of a record
// whose keys no other record has made hidden classes of its own (kept until a full GC) and missed
// every inline cache: copying five order ids took ~10 us. An object in dictionary mode has no
// hidden class per key; deleting a property other than the last puts an object in that mode for
// good, and copies made here stay in it (a spread `{ ...record }` would make a fast object again).
// Nothing of this is observable: same prototype, same own keys in the same order (insertion
// order, integer-like keys first, as for any object), same JSON.

/** An empty plain object meant for id keys: `{}` to every reader, held in dictionary mode. */
export const idRecord = <T>(): Record<string, T> => {
  const r: Record<string, unknown> = { a: 0, b: 0 };
  delete r.a;
  delete r.b;
  return r as Record<string, T>;
};

/** `{ ...record }` (own enumerable keys in their order, `__proto__` an own key like any other), made by idRecord. */
export const copyIdRecord = <T>(record: Readonly<Record<string, T>>): Record<string, T> => {
  const out = idRecord<T>();
  for (const k of Object.keys(record)) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: record[k], enumerable: true, writable: true, configurable: true });
    else out[k] = record[k]!;
  }
  return out;
};
