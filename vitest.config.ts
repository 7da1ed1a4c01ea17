import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // at least two files at once: vitest's default, one fewer than the cores, runs the suite one
    // file at a time on a 2-core machine, while most files spend their time waiting on the servers
    // and child processes they start. On a 2-core machine the suite took 969 s one at a time (in
    // `bash .ci/run`) and 607-644 s two at a time (two `.ci/run` runs and one `npx vitest run`, on
    // fresh clones), with the same tests passing
    maxWorkers: Math.max(2, availableParallelism() - 1),
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
