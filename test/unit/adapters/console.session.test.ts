import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SessionSealer, sameToken } from '../../../src/adapters/http/console/session.js';

// The console's session cookie: what is sealed opens again under the same key until it expires,
// and nothing else opens: another key, an expired session, or any change to the sealed value.

const KEY = 'console-session-key-for-tests-0123456789';
const sealer = new SessionSealer(KEY);
const arbSession = fc.record({
  token: fc.string({ minLength: 1, maxLength: 80 }),
  expiresAt: fc.integer({ min: 1, max: 2 ** 45 }),
  csrf: fc.string({ minLength: 1, maxLength: 40 }),
});

describe('SessionSealer', () => {
  test.prop([arbSession])('opens what it sealed before it expires, and nothing from then on', async (s) => {
    const sealed = await sealer.seal(s);
    expect(await sealer.open(sealed, s.expiresAt - 1)).toEqual(s);
    expect(await sealer.open(sealed, s.expiresAt)).toBeUndefined();
  });

  test.prop([arbSession, fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')])(
    'opens no sealed value with one character changed (the last, which may hold padding bits, excepted)',
    async (s, where, replacement) => {
      const sealed = await sealer.seal(s);
      const at = where % (sealed.length - 1);
      fc.pre(sealed[at] !== replacement && sealed[at] !== '.');
      const changed = `${sealed.slice(0, at)}${replacement}${sealed.slice(at + 1)}`;
      expect(await sealer.open(changed, 0)).toBeUndefined();
    },
  );

  it('opens nothing sealed under another key, and refuses a short key', async () => {
    const s = { token: 't', expiresAt: 10, csrf: 'c' };
    expect(await new SessionSealer(`${KEY}-other`).open(await sealer.seal(s), 0)).toBeUndefined();
    expect(await sealer.open('not.a-cookie', 0)).toBeUndefined();
    expect(() => new SessionSealer('short')).toThrow(/at least 32 characters/);
  });

  it('compares CSRF tokens exactly', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', 'abcd')).toBe(false);
    expect(sameToken('', 'a')).toBe(false);
  });
});
