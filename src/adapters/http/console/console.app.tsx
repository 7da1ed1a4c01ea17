import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Principal, Scope } from '../../../application/ports/access.port.js';
import { DomainError } from '../../../domain/shared/errors.js';
import type { Gate } from '../auth.js';
import { HttpError, statusOf } from '../errors.js';
import type { ConsoleDeps, ConsoleEnv, ConsoleOptions, Needs } from './console.deps.js';
import { CONSOLE_CSS } from './console.css.js';
import { registerAnalyticsPages } from './analytics.page.js';
import { registerCustomerPages } from './customer.routes.js';
import { mountPrefixOf } from '../mount-prefix.js';
import { CONSOLE_ICON, consoleBase, ErrorPage, render } from './layout.js';
import { registerOperatorPages } from './operator.routes.js';
import { DEFAULT_SESSION_TTL_MS, randomToken, SESSION_COOKIE, SessionSealer, sameToken } from './session.js';
import { SignInPage } from './sign-in.page.js';

// The console: server-rendered pages under /console on the API's own route table, for people who
// look customers up. Sign-in takes an API token; every page then asks the Gate for the scope the
// matching API route needs, so the console can do exactly what the token can do through the API.

/** No script at all, styles from this origin only, forms post only here, never framed. */
export const CONSOLE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const FORM_LIMIT = 32 * 1024;

const forwardedProto = (c: { req: { url: string; header(n: string): string | undefined } }): string =>
  c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() || new URL(c.req.url).protocol.replace(':', '');

/** Only a path inside the console (at `base`): never another site (an open redirect), never out of it by `..`. */
const safeNext = (base: string, next: string | undefined): string => {
  if (!next) return base;
  try {
    const u = new URL(next, 'http://console.invalid');
    if (u.origin === 'http://console.invalid' && (u.pathname === base || u.pathname.startsWith(`${base}/`))) return u.pathname + u.search;
  } catch {
    // not a URL at all
  }
  return base;
};

/** Refused when the browser says the request comes from another site (Origin or Sec-Fetch-Site). */
const crossSite = (c: { req: { url: string; header(n: string): string | undefined } }): boolean => {
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('origin');
  if (!origin) return false;
  const url = new URL(c.req.url);
  const host = c.req.header('x-forwarded-host') ?? c.req.header('host') ?? url.host;
  return origin !== `${forwardedProto(c)}://${host}`;
};

export const createConsole = (deps: ConsoleDeps, gate: Gate, options: ConsoleOptions): Hono<ConsoleEnv> => {
  const sealer = new SessionSealer(options.sessionKey);
  const ttl = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const app = new Hono<ConsoleEnv>();

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONSOLE_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  app.use('*', bodyLimit({ maxSize: FORM_LIMIT, onError: (c) => render(c, <ErrorPage status={413} message="the form is too large" />, 413) }));

  app.get('/assets/console.css', (c) => c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }));
  app.get('/assets/icon.svg', (c) => c.body(CONSOLE_ICON, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=3600' }));

  app.get('/sign-in', (c) => render(c, <SignInPage next={safeNext(consoleBase(c), c.req.query('next'))} />));
  app.post('/sign-in', async (c) => {
    if (crossSite(c)) return render(c, <ErrorPage status={403} message="a sign-in from another site is refused" />, 403);
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const next = safeNext(consoleBase(c), typeof form.next === 'string' ? form.next : undefined);
    const viewer = token ? deps.auth.byToken(token) : undefined;
    if (!viewer) {
      let message = 'the token is not valid';
      try {
        // counts against the anonymous limit of this address, like a refused API call
        gate.bearer(`Bearer ${token || '-'}`, 'read', c.get('clientAddress'));
      } catch (e) {
        if (e instanceof HttpError && e.code === 'RATE_LIMITED') message = e.message;
      }
      return render(c, <SignInPage next={next} error={message} />, 401);
    }
    const sealed = await sealer.seal({ token, expiresAt: deps.now() + ttl, csrf: randomToken() });
    setCookie(c, SESSION_COOKIE, sealed, {
      path: consoleBase(c),
      httpOnly: true,
      sameSite: 'Strict',
      secure: forwardedProto(c) === 'https',
      maxAge: Math.floor(ttl / 1000),
    });
    deps.logger?.info('console sign-in', { principal: viewer.id });
    return c.redirect(next, 303);
  });

  // every other page needs a live session
  app.use('*', async (c, next) => {
    const session = await sealer.open(getCookie(c, SESSION_COOKIE), deps.now());
    const viewer = session ? deps.auth.byToken(session.token) : undefined;
    if (!session || !viewer) {
      const base = consoleBase(c);
      if (getCookie(c, SESSION_COOKIE) !== undefined) deleteCookie(c, SESSION_COOKIE, { path: base });
      // the route path with the mount prefix in front: the page as the browser asked for it
      const here = new URL(c.req.url);
      const asked = `${mountPrefixOf(c.env)}${here.pathname}${here.search}`;
      return c.redirect(`${base}/sign-in?next=${encodeURIComponent(c.req.method === 'GET' ? asked : base)}`, 303);
    }
    c.set('session', session);
    c.set('viewer', viewer);
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      const sent = typeof form._csrf === 'string' ? form._csrf : '';
      if (crossSite(c) || !sameToken(sent, session.csrf))
        return render(
          c,
          <ErrorPage
            status={403}
            viewer={viewer}
            csrf={session.csrf}
            message="the form was not sent from this console (CSRF check); reload the page and try again"
          />,
          403,
        );
    }
    await next();
  });

  app.post('/sign-out', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: consoleBase(c), httpOnly: true, sameSite: 'Strict', secure: forwardedProto(c) === 'https' });
    return c.redirect(`${consoleBase(c)}/sign-in`, 303);
  });

  const needs: Needs = (scope) => async (c, next) => {
    c.set('principal', admit(gate, c.get('session').token, scope, c.get('clientAddress')));
    await next();
  };
  registerOperatorPages(app, deps, needs);
  registerCustomerPages(app, deps, needs);
  registerAnalyticsPages(app, deps, needs);

  app.notFound((c) => render(c, <ErrorPage status={404} viewer={c.var.viewer} csrf={c.var.session?.csrf} message={`no console page ${c.req.path}`} />, 404));
  app.onError((err, c) => {
    const viewer = c.var.viewer;
    const csrf = c.var.session?.csrf;
    if (err instanceof HttpError || err instanceof DomainError) {
      const status = statusOf(err.code);
      if (status === 401) return c.redirect(`${consoleBase(c)}/sign-in`, 303);
      return render(c, <ErrorPage status={status} viewer={viewer} csrf={csrf} message={err.message} />, status);
    }
    deps.logger?.error('console error', { requestId: c.get('requestId'), error: err.name, stack: err.stack?.split('\n').slice(1, 8).join('\n') });
    return render(
      c,
      <ErrorPage status={500} viewer={viewer} csrf={csrf} message={`something went wrong on our side; the request id is ${c.get('requestId')}`} />,
      500,
    );
  });
  return app;
};

/** The Gate's own check (scope, rate limit), with any one of several scopes. */
const admit = (gate: Gate, token: string, scope: Scope | readonly Scope[], address: string): Principal => {
  const scopes: readonly Scope[] = typeof scope === 'string' ? [scope] : scope;
  let refusal: unknown;
  for (const s of scopes) {
    try {
      return gate.bearer(`Bearer ${token}`, s, address);
    } catch (e) {
      if (!(e instanceof HttpError && e.code === 'FORBIDDEN')) throw e;
      refusal = e;
    }
  }
  if (scopes.length === 1) throw refusal;
  throw new HttpError('FORBIDDEN', `this page needs the "${scopes.join('" or "')}" scope, which the credential lacks`, [
    { path: 'authorization', message: `needs scope ${scopes.join(' or ')}` },
  ]);
};
