import { describe, expect, it } from 'vitest';
import { CORE_ON_MEMORY, HEAVY, weigh, weighSubpaths, type Weight } from '../../scripts/package-weight.js';

// Importing the core or the memory adapter must not pull in the AWS SDK, Hono or inversify: each
// bundled by esbuild as a user's build would, its inputs read from the metafile.

const heavyIn = (w: Weight) => w.inputs.filter((i) => HEAVY.test(i));
const kB = (n: number) => `${(n / 1000).toFixed(0)} kB`;

describe('what the package entry points pull into a bundle', () => {
  it('the core wired on the memory adapter holds no AWS SDK, Powertools, Hono or inversify', async () => {
    const used = await weigh('core + memory', CORE_ON_MEMORY);
    console.log(`core + memory, used: ${kB(used.bytes)} (${used.packages.map((p) => `${p.name} ${kB(p.bytes)}`).join(', ')})`);
    expect(heavyIn(used)).toEqual([]);
    expect(used.inputs.some((i) => i.includes('src/application/core.ts'))).toBe(true);
    expect(used.bytes).toBeLessThan(1_000_000);
  });

  it('so does every export of the core and memory subpaths; the AWS and HTTP subpaths do hold theirs (the check can fail)', async () => {
    const weights = new Map((await weighSubpaths()).map((w) => [w.name, w]));
    for (const w of weights.values()) console.log(`${w.name}: ${kB(w.bytes)}`);
    expect(heavyIn(weights.get('.')!)).toEqual([]);
    expect(heavyIn(weights.get('./memory')!)).toEqual([]);
    expect(heavyIn(weights.get('./sqlite')!)).toEqual([]);
    expect(heavyIn(weights.get('./dynamodb')!).some((i) => i.includes('@aws-sdk/client-dynamodb'))).toBe(true);
    expect(heavyIn(weights.get('./lambda')!).some((i) => /node_modules[\\/]hono[\\/]/.test(i))).toBe(true);
  });
});
