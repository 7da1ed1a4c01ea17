import { InvalidArgumentError } from 'commander';

// Option values are checked where commander reads them, so a bad value is a usage error (exit 2)
// that names the option, before anything is started.

export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}`);
    return n;
  };

const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const tenantName = (raw: string): string => {
  if (!TENANT.test(raw)) throw new InvalidArgumentError('lower-case letters, digits and dashes, starting with a letter or digit (at most 63)');
  return raw;
};

export const sourceName = (raw: string): string => {
  if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(raw)) throw new InvalidArgumentError('letters, digits, dots, dashes and underscores (at most 64)');
  return raw;
};

/** --url: where a running server's API is */
export const httpUrl = (raw: string): string => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidArgumentError('an http:// or https:// URL, e.g. http://127.0.0.1:3000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('an http:// or https:// URL, e.g. http://127.0.0.1:3000');
  return raw;
};
