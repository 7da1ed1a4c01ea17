import { randomFillSync } from 'node:crypto';

// One getrandom() call per few hundred ids/IVs instead of one per call: the hot path makes several
// per commit. The returned view is only valid until the next call, so callers copy or use it at once.
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

export const takeRandom = (n: number): Buffer => {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const view = pool.subarray(offset, offset + n);
  offset += n;
  return view;
};
