// vitest, for the suites of this folder (the identity laws as tests, the contract suites), loaded
// if it is installed: it is an optional peer dependency of the package, and checkIdentityLaws, the
// arbitraries, the builders and the paging helpers must import without it (from a plain script,
// or `c360 laws`). Without vitest, a suite says what it needs when it is called.

type Vitest = typeof import('vitest');

const loaded: Vitest | undefined = await import('vitest').catch((e: unknown) => {
  if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /\bvitest\b/.test(String(e))) return undefined;
  throw e;
});

const missing = (): never => {
  throw new Error('the vitest suites of customer360-core/testing (identityLawsSuite, the contract suites) need vitest: npm install --save-dev vitest');
};

const vitest = loaded ?? ({ describe: missing, it: missing, expect: missing, beforeEach: missing } as unknown as Vitest);

export const { describe, it, expect, beforeEach } = vitest;
