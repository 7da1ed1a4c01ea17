import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// identityLawsSuite as a user's vitest run shows it: a law the rules give nothing to check (no
// value blocked) and one whose every bound is beyond the histories (a guard of 500 customers /
// 5,000 identifiers) are skipped with the reason as the skip's note, never passed green nor
// failed for good. The suite runs in a vitest of its own, on a fixture folder.

const root = fileURLToPath(new URL('../../fixtures/laws-suite', import.meta.url));
const vitestBin = fileURLToPath(new URL('../../../node_modules/vitest/vitest.mjs', import.meta.url));

describe('identityLawsSuite on rules that leave laws nothing to check', () => {
  it('skips those laws, printing why, and passes the others', () => {
    const r = spawnSync(process.execPath, [vitestBin, 'run', '--root', root, '--reporter=verbose'], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', NO_COLOR: '1', LAW_RUNS: '20' },
      timeout: 240_000,
    });
    const text = r.stdout + r.stderr;
    expect(r.status, text).toBe(0);
    expect(text).toMatch(/↓ .*> blocked: .*\[not checked: the rules block no value\]/);
    expect(text).toMatch(
      /↓ .*> cluster-guard: .*\[not checked: every bound it is about is beyond what the histories reach: maxCustomers 500 .*maxIdentifiers 5000/,
    );
    expect(text).toMatch(/✓ .*> limits: /);
    expect(text).toMatch(/Tests\s+3 passed \| 2 skipped \(5\)/);
  }, 300_000);
});
