import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// customer360-core/testing without vitest installed (an optional peer dependency): checkIdentityLaws
// runs from a plain script; only the vitest suites need vitest, and say so when called. The child
// node resolves `vitest` as not found (test/support/no-vitest).

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = `
const testing = await import('./src/public/testing.ts');
const { DEFAULT_IDENTITY_RULES } = await import('./src/domain/identity/rules.ts');
const [result] = await testing.checkIdentityLaws(DEFAULT_IDENTITY_RULES, { numRuns: 3, seed: 1, laws: ['idempotence'] });
let suite;
try { testing.identityLawsSuite('x', DEFAULT_IDENTITY_RULES); } catch (e) { suite = e.message; }
let vitest;
try { await import('vitest'); } catch (e) { vitest = e.code; }
console.log(JSON.stringify({ name: result.name, ok: result.ok, coverage: testing.formatCoverage(result), suite, vitest }));
`;

describe('customer360-core/testing without vitest', () => {
  it('imports, runs checkIdentityLaws, and a vitest suite called says it needs vitest', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--import', './test/support/no-vitest/register.mjs', '--input-type=module', '-e', script],
      { cwd: root, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      name: 'idempotence',
      ok: true,
      // the line c360 laws prints under a law, exported beside formatLawFailure
      coverage: 'an accepted call ingested again reached in 3/3 histories',
      suite: expect.stringMatching(/need vitest: npm install --save-dev vitest/),
      vitest: 'ERR_MODULE_NOT_FOUND',
    });
  }, 90_000);
});
