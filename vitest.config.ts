import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // every file in a fresh worker, as the suite has always run: some files set process.env for
    // themselves (the SNS endpoint, a Lambda's variables). Said here, not left to the default,
    // because vitest 5 otherwise ends a full run with a hint to try isolate: false
    isolate: true,
    globalSetup: ['./test/support/global-setup.ts'],
    // the SDK must never look for credentials or metadata off this machine
    env: {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  },
});
