import type { CliIo, CliWriter } from './cli.deps.js';

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

/** A stream the CLI writes to, as far as its reader closing it early concerns us. */
export type PipeEnd = CliWriter & { on?(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown };

/** the errors of a write whose reader is gone (`c360 export <id> | head`), or of one after it */
const READER_GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * `stream` for a command to write to: once its reader has gone away (`| head` read what it
 * wanted), the rest of the output is dropped quietly, and the command ends as it would have with
 * its own exit status, its resources closed, rather than on an unhandled EPIPE with a stack trace.
 * Any other error of the stream is thrown as before.
 */
export const quietWhenClosed = (stream: PipeEnd): CliWriter => {
  let gone = false;
  stream.on?.('error', (error) => {
    if (!READER_GONE.has(error.code ?? '')) throw error;
    gone = true;
  });
  return {
    write: (text: string) => (gone ? false : stream.write(text)),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
};
