import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:quickstart`: the README's quick start on a fresh clone. Slow (a full `npm ci` and the
// default seed), so it runs outside `npm test`; CI runs it after the suite. No global setup: the clone
// starts what it needs itself, as a user's would.

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/quickstart/*.e2e.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    pool: 'forks',
  },
});
