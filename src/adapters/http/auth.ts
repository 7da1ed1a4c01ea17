import type { MiddlewareHandler } from 'hono';
import type { Authenticator, Principal, Scope } from '../../application/ports/access.port.js';
import { HttpError } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';

// Credentials: a bearer token for the API; a Segment write key (Basic-auth user name, or the
// body's writeKey) for ingest, where a bearer token with the ingest scope also works. The tenant
// always comes from the credential, never from the request.

export type AppEnv = { Variables: { principal: Principal; requestId: string; clientAddress: string } };

/** Requests without a valid credential are limited per client address, at this rate unless configured. */
export const DEFAULT_ANONYMOUS_RATE_PER_SECOND = 10;

export type Credential =
  | { readonly kind: 'basic'; readonly writeKey: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'none' };

const BEARER_CHALLENGE = 'Bearer realm="c360"';
const INGEST_CHALLENGE = 'Basic realm="c360-ingest", Bearer realm="c360"';

export const parseAuthorization = (header: string | undefined): Credential => {
  if (!header) return { kind: 'none' };
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (/^bearer$/i.test(scheme) && value) return { kind: 'bearer', token: value };
  if (/^basic$/i.test(scheme) && value) {
    // Segment: the write key is the user name, the password is empty
    const decoded = atob(value.replace(/[^A-Za-z0-9+/=]/g, ''));
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    return { kind: 'basic', writeKey: user };
  }
  throw unauthorized(
    'the Authorization header is not understood; send "Bearer <token>" (or Basic with the write key as user name for ingest)',
    BEARER_CHALLENGE,
  );
};

const unauthorized = (message: string, challenge: string): HttpError =>
  new HttpError('UNAUTHORIZED', message, [{ path: 'authorization', message: 'missing or invalid credential' }], { 'WWW-Authenticate': challenge });

export class Gate {
  constructor(
    private readonly auth: Authenticator,
    private readonly limiter: RateLimiter,
    private readonly anonymousRatePerSecond = DEFAULT_ANONYMOUS_RATE_PER_SECOND,
  ) {}

  /** Route middleware: a bearer token with `scope`, within its rate limit. */
  needs(scope: Scope): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      c.set('principal', this.bearer(c.req.header('authorization'), scope, c.get('clientAddress')));
      await next();
    };
  }

  bearer(header: string | undefined, scope: Scope, address: string): Principal {
    const cred = this.parse(header, BEARER_CHALLENGE, address);
    if (cred.kind === 'none') throw this.refuse(address, 'this route needs a credential: send "Authorization: Bearer <token>"', BEARER_CHALLENGE);
    if (cred.kind === 'basic') {
      // a valid write key is a credential without this route's scope (403, as a token lacking it);
      // one no credential knows is no credential (401)
      const key = this.auth.byWriteKey(cred.writeKey);
      if (!key)
        throw this.refuse(
          address,
          'the write key is not valid, and write keys only send events; this route needs "Authorization: Bearer <token>"',
          BEARER_CHALLENGE,
        );
      throw new HttpError('FORBIDDEN', `write key ${key.id} only sends events; this route needs a bearer token with the "${scope}" scope`, [
        { path: 'authorization', message: `needs a bearer token with scope ${scope}` },
      ]);
    }
    const p = this.auth.byToken(cred.token);
    if (!p) throw this.refuse(address, 'the bearer token is not valid', `${BEARER_CHALLENGE}, error="invalid_token"`);
    return this.admit(p, scope);
  }

  /**
   * Ingest by the Authorization header, if it carries a credential; undefined when it carries none
   * (the write key may be in the body). An address already over its anonymous limit is refused
   * here, before its body is read.
   */
  ingestByHeader(header: string | undefined, address: string): Principal | undefined {
    const cred = this.parse(header, INGEST_CHALLENGE, address);
    if (cred.kind === 'none') {
      if (!this.limiter.wouldAllow(anonymousKey(address), this.anonymousRatePerSecond)) this.takeAnonymous(address);
      return undefined;
    }
    const p = cred.kind === 'basic' ? this.auth.byWriteKey(cred.writeKey) : this.auth.byToken(cred.token);
    if (!p) throw this.refuse(address, cred.kind === 'basic' ? 'the write key is not valid' : 'the bearer token is not valid', INGEST_CHALLENGE);
    return this.admit(p, 'ingest');
  }

  /** Ingest by the body's writeKey (Segment allows it instead of the header). */
  ingestByWriteKey(writeKey: string | undefined, address: string): Principal {
    if (!writeKey) throw this.refuse(address, 'send the write key as the Basic-auth user name (or as "writeKey" in the body)', INGEST_CHALLENGE);
    const p = this.auth.byWriteKey(writeKey);
    if (!p) throw this.refuse(address, 'the write key is not valid', INGEST_CHALLENGE);
    return this.admit(p, 'ingest');
  }

  /** `calls - 1` more tokens for a batch (its request took one): every call of a batch counts against the limit. */
  chargeCalls(p: Principal, calls: number): void {
    if (calls <= 1) return;
    const rate = this.limiter.take(p.id, p.rateLimitPerSecond, calls - 1, 1);
    if (!rate.allowed) {
      throw new HttpError(
        'RATE_LIMITED',
        `credential ${p.id} is over its limit of ${p.rateLimitPerSecond} calls per second (this batch holds ${calls}); retry after ${rate.retryAfterSeconds} s`,
        [{ path: 'batch', message: `${calls} calls` }],
        { 'Retry-After': String(rate.retryAfterSeconds) },
      );
    }
  }

  /** A request without a valid credential: 401, or 429 once its address is over the anonymous limit. */
  private refuse(address: string, message: string, challenge: string): HttpError {
    this.takeAnonymous(address);
    return unauthorized(message, challenge);
  }

  private takeAnonymous(address: string): void {
    const rate = this.limiter.take(anonymousKey(address), this.anonymousRatePerSecond);
    if (!rate.allowed) {
      throw new HttpError(
        'RATE_LIMITED',
        `too many requests without a valid credential from this address (limit ${this.anonymousRatePerSecond} per second); retry after ${rate.retryAfterSeconds} s`,
        [{ path: 'authorization', message: 'missing or invalid credential' }],
        { 'Retry-After': String(rate.retryAfterSeconds) },
      );
    }
  }

  private parse(header: string | undefined, challenge: string, address: string): Credential {
    try {
      return safeParse(header, challenge);
    } catch (e) {
      this.takeAnonymous(address);
      throw e;
    }
  }

  private admit(p: Principal, scope: Scope): Principal {
    if (!p.scopes.has(scope)) {
      throw new HttpError('FORBIDDEN', `credential ${p.id} lacks the "${scope}" scope this route needs`, [
        { path: 'authorization', message: `needs scope ${scope}` },
      ]);
    }
    const rate = this.limiter.take(p.id, p.rateLimitPerSecond);
    if (!rate.allowed) {
      throw new HttpError(
        'RATE_LIMITED',
        `credential ${p.id} is over its limit of ${p.rateLimitPerSecond} calls per second (a request that is not a batch counts as one); retry after ${rate.retryAfterSeconds} s`,
        [],
        {
          'Retry-After': String(rate.retryAfterSeconds),
        },
      );
    }
    return p;
  }
}

/** credential ids and addresses share the limiter: an address key cannot collide with an id */
const anonymousKey = (address: string): string => `\u0000address:${address}`;

const safeParse = (header: string | undefined, challenge: string): Credential => {
  try {
    return parseAuthorization(header);
  } catch (e) {
    if (e instanceof HttpError) throw new HttpError(e.code, e.message, e.issues, { 'WWW-Authenticate': challenge });
    throw unauthorized('the Basic credential is not valid base64', challenge);
  }
};
