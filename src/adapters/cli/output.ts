import type { CliIo } from './cli.deps.js';

// Results go to stdout: human lines, or with --json one JSON document for scripts. Progress and
// errors go to stderr so a pipe only ever sees the result.

export type Output = {
  readonly json: boolean;
  /** a human line; suppressed under --json */
  line(text?: string): void;
  /** the result document under --json */
  result(value: unknown): void;
};

export const makeOutput = (io: CliIo, json: boolean): Output => ({
  json,
  line: (text = '') => {
    if (!json) io.stdout.write(`${text}\n`);
  },
  result: (value) => {
    if (json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
});

export const plural = (n: number, word: string, many = `${word}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
