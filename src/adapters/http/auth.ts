import type { MiddlewareHandler } from 'hono';
import type { Authenticator, Principal, Scope } from '../../application/ports/access.port.js';
import { HttpError } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';

// Credentials: a bearer token for the API; a Segment write key (Basic-auth user name, or the
// body's writeKey) for ingest, where a bearer token with the ingest scope also works. The tenant
// always comes from the credential, never from the request.

export type AppEnv = { Variables: { principal: Principal; requestId: string } };

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
  ) {}

  /** Route middleware: a bearer token with `scope`, within its rate limit. */
  needs(scope: Scope): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      c.set('principal', this.bearer(c.req.header('authorization'), scope));
      await next();
    };
  }

  bearer(header: string | undefined, scope: Scope): Principal {
    const cred = safeParse(header, BEARER_CHALLENGE);
    if (cred.kind === 'none') throw unauthorized('this route needs a credential: send "Authorization: Bearer <token>"', BEARER_CHALLENGE);
    if (cred.kind === 'basic') throw unauthorized('write keys only send events; this route needs "Authorization: Bearer <token>"', BEARER_CHALLENGE);
    const p = this.auth.byToken(cred.token);
    if (!p) throw unauthorized('the bearer token is not valid', `${BEARER_CHALLENGE}, error="invalid_token"`);
    return this.admit(p, scope);
  }

  /** Ingest by the Authorization header, if it carries a credential; undefined when it carries none. */
  ingestByHeader(header: string | undefined): Principal | undefined {
    const cred = safeParse(header, INGEST_CHALLENGE);
    if (cred.kind === 'none') return undefined;
    const p = cred.kind === 'basic' ? this.auth.byWriteKey(cred.writeKey) : this.auth.byToken(cred.token);
    if (!p) throw unauthorized(cred.kind === 'basic' ? 'the write key is not valid' : 'the bearer token is not valid', INGEST_CHALLENGE);
    return this.admit(p, 'ingest');
  }

  /** Ingest by the body's writeKey (Segment allows it instead of the header). */
  ingestByWriteKey(writeKey: string | undefined): Principal {
    if (!writeKey) throw unauthorized('send the write key as the Basic-auth user name (or as "writeKey" in the body)', INGEST_CHALLENGE);
    const p = this.auth.byWriteKey(writeKey);
    if (!p) throw unauthorized('the write key is not valid', INGEST_CHALLENGE);
    return this.admit(p, 'ingest');
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
        `credential ${p.id} is over its limit of ${p.rateLimitPerSecond} requests per second; retry after ${rate.retryAfterSeconds} s`,
        [],
        {
          'Retry-After': String(rate.retryAfterSeconds),
        },
      );
    }
    return p;
  }
}

const safeParse = (header: string | undefined, challenge: string): Credential => {
  try {
    return parseAuthorization(header);
  } catch (e) {
    if (e instanceof HttpError) throw new HttpError(e.code, e.message, e.issues, { 'WWW-Authenticate': challenge });
    throw unauthorized('the Basic credential is not valid base64', challenge);
  }
};
