// The console's session: the sign-in token, an expiry and a CSRF token, sealed with AES-256-GCM
// under a key derived from the configured session key. The cookie is unreadable and unforgeable
// without the key, and the token inside is authenticated again on every request, so a revoked
// credential or a narrowed scope takes effect at once. Web Crypto only: this runs on Lambda too.

export type Session = {
  /** the bearer token the user signed in with */
  readonly token: string;
  /** milliseconds since the epoch */
  readonly expiresAt: number;
  /** the value every form of this session posts back */
  readonly csrf: string;
};

export const SESSION_COOKIE = 'c360_console';
export const DEFAULT_SESSION_TTL_MS = 8 * 3_600_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const fromB64url = (s: string): Uint8Array => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));

export const randomToken = (): string => b64url(crypto.getRandomValues(new Uint8Array(24)));

export class SessionSealer {
  private readonly key: ReturnType<typeof crypto.subtle.importKey>;

  constructor(sessionKey: string) {
    if (sessionKey.length < 32) throw new Error('the console session key must hold at least 32 characters');
    // a fixed label keeps this key apart from any other use of the same secret
    this.key = crypto.subtle
      .digest('SHA-256', enc.encode(`c360-console-session\u0000${sessionKey}`))
      .then((raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
  }

  async seal(session: Session): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const body = enc.encode(JSON.stringify({ t: session.token, e: session.expiresAt, c: session.csrf }));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await this.key, body));
    return `${b64url(iv)}.${b64url(sealed)}`;
  }

  /** The session in a cookie value; undefined when it is absent, altered, sealed under another key or expired. */
  async open(value: string | undefined, now: number): Promise<Session | undefined> {
    if (!value || value.length > 4_096) return undefined;
    const [iv, sealed, extra] = value.split('.');
    if (!iv || !sealed || extra !== undefined) return undefined;
    try {
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64url(iv) }, await this.key, fromB64url(sealed));
      const s = JSON.parse(dec.decode(plain)) as { t?: unknown; e?: unknown; c?: unknown };
      if (typeof s.t !== 'string' || typeof s.e !== 'number' || typeof s.c !== 'string') return undefined;
      return s.e > now ? { token: s.t, expiresAt: s.e, csrf: s.c } : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Constant-time string equality (CSRF tokens). */
export const sameToken = (a: string, b: string): boolean => {
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
};
