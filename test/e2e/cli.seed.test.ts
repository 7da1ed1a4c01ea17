import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/infrastructure/cli.js';

// `c360 seed` through the bin's own composition (config, secrets, store), in-process on the
// embedded store in a temporary data dir, with captured output.

let dir: string;

const writer = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};

const c360 = async (argv: string[], extra: Record<string, string> = {}) => {
  const stdout = writer();
  const stderr = writer();
  const env = { C360_DATA_DIR: dir, C360_TENANT: 'seeded', ...extra };
  const code = await main(argv, env, { stdout, stderr, debug: false, progressIntervalMs: 0 });
  return { code, out: stdout.text(), err: stderr.text(), json: () => JSON.parse(stdout.text()) as Record<string, any> };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-seed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('c360 seed on the embedded store', () => {
  it('seeds again with the same seed and other sizes without a conflict: the calls that are the same are duplicates', async () => {
    const first = await c360(['seed', '--customers', '6', '--products', '4', '--orders', '10', '--events', '30', '--json']);
    expect(first.code, first.err).toBe(0);
    expect(first.json().outcomes).toMatchObject({ quarantined: 0, rejected: 0 });

    const bigger = await c360(['seed', '--customers', '9', '--products', '7', '--orders', '25', '--events', '50', '--json']);
    expect(bigger.code, bigger.err).toBe(0);
    const outcomes = bigger.json().outcomes;
    expect(outcomes).toMatchObject({ quarantined: 0, rejected: 0 });
    // some calls (a person's first page view, say) do not depend on the sizes: seen before
    expect(outcomes.duplicate).toBeGreaterThan(0);
    expect(outcomes.accepted).toBeGreaterThan(0);

    const listed = await c360(['quarantine', 'list', '--json']);
    expect(listed.code, listed.err).toBe(0);
    expect(JSON.stringify(listed.json())).not.toMatch(/IDEMPOTENCY_CONFLICT/);

    // and the same sizes again change nothing
    const again = await c360(['seed', '--customers', '9', '--products', '7', '--orders', '25', '--events', '50', '--json']);
    expect(again.code, again.err).toBe(0);
    expect(again.json().outcomes).toMatchObject({ accepted: 0, duplicate: again.json().calls, quarantined: 0 });
  });
});
