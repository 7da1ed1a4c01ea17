import { DomainError } from '../../domain/shared/errors.js';

// One clear line per failure: what went wrong and where (the field, the file, the variable). A
// stack trace only with C360_DEBUG=1. Exit codes: 1 the job failed, 2 the command line was wrong,
// 130 stopped by Ctrl-C (what was done is kept).

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);

const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
};

export const describeError = (e: unknown): string => {
  if (e instanceof DomainError) return `${e.code}${e.path.length ? ` at ${e.path.join('.')}` : ''}: ${e.message}`;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && err.path && SYSTEM_ERRORS[err.code]) return `${err.path}: ${SYSTEM_ERRORS[err.code]}`;
  if (e instanceof Error) return e.message;
  return String(e);
};

export const exitCodeOf = (e: unknown): number => (e instanceof CliError ? e.exitCode : EXIT.failure);
