import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { createContext, useContext, type Child } from 'hono/jsx';
import type { Principal } from '../../../application/ports/access.port.js';
import { mountPrefixOf } from '../mount-prefix.js';

// The page frame: navigation by the viewer's scopes (a link to a page the credential may not see is
// not shown; the route refuses it anyway), and sign-out as a CSRF-protected form.

/** where the console sits in the app's route table */
export const CONSOLE_PATH = '/console';

/**
 * The console's URL as the browser sees it: behind API Gateway with a named stage or a base path
 * the same routes answer at `/prod/console` or `/api/console`. The prefix comes from the adapter
 * that stripped it (the fetch env), never from the request.
 */
export const consoleBase = (c: Pick<Context, 'env'>): string => `${mountPrefixOf(c.env)}${CONSOLE_PATH}`;

const Base = createContext(CONSOLE_PATH);

/** The console's base URL inside a page rendered by `render`. */
export const useBase = (): string => useContext(Base);

/** A page, with the request's console base URL for the components in it that build links. */
export const render = (c: Context, page: Child, status?: ContentfulStatusCode) => c.html(<Base.Provider value={consoleBase(c)}>{page}</Base.Provider>, status);

/**
 * The page a viewer lands on (after sign-in, or at the console's root): the overview for `read`,
 * else the first page its scopes open (a gdpr-only token: finding a customer's privacy page by id).
 * A path after the console base; '' is the overview.
 */
export const homeOf = (viewer: Principal): string =>
  viewer.scopes.has('read') ? '' : viewer.scopes.has('gdpr') ? '/privacy-requests' : viewer.scopes.has('admin') ? '/quarantine' : '';

export type Frame = { readonly viewer?: Principal | undefined; readonly csrf?: string | undefined };

export const CsrfField = (p: { csrf: string }) => <input type="hidden" name="_csrf" value={p.csrf} />;

/** the console's icon (served at assets/icon.svg): a rounded square */
export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#234"/></svg>`;

export const Layout = (p: Frame & { title: string; children?: Child }) => {
  const base = useBase();
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.title} · Customer 360 console`}</title>
        <link rel="stylesheet" href={`${base}/assets/console.css`} />
        {/* the console's own icon, so the browser asks for no /favicon.ico, which no route serves */}
        <link rel="icon" type="image/svg+xml" href={`${base}/assets/icon.svg`} />
      </head>
      <body>
        <header class="top">
          <strong>Customer 360</strong>
          {p.viewer ? (
            <>
              <nav aria-label="Console">
                {p.viewer.scopes.has('read') ? <a href={base}>Overview</a> : null}
                {p.viewer.scopes.has('read') ? <a href={`${base}/search`}>Search</a> : null}
                {p.viewer.scopes.has('read') ? <a href={`${base}/matches`}>Duplicates</a> : null}
                {p.viewer.scopes.has('read') ? <a href={`${base}/analytics`}>Analytics</a> : null}
                {p.viewer.scopes.has('admin') ? <a href={`${base}/privacy`}>Erasures &amp; audit</a> : null}
                {p.viewer.scopes.has('admin') ? <a href={`${base}/quarantine`}>Quarantine</a> : null}
                {/* with read, search leads to a customer and its Privacy tab; without it this is the way in */}
                {p.viewer.scopes.has('gdpr') && !p.viewer.scopes.has('read') ? <a href={`${base}/privacy-requests`}>Privacy requests</a> : null}
              </nav>
              <span class="who">
                {p.viewer.id} · tenant {p.viewer.tenant} · {[...p.viewer.scopes].join(', ')}
              </span>
              {p.csrf ? (
                <form method="post" action={`${base}/sign-out`}>
                  <CsrfField csrf={p.csrf} />
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
              ) : null}
            </>
          ) : null}
        </header>
        <main>{p.children}</main>
      </body>
    </html>
  );
};

export const ErrorPage = (p: Frame & { status: number; message: string }) => (
  <Layout title={`Error ${p.status}`} viewer={p.viewer} csrf={p.csrf}>
    <h1>{p.status === 403 ? 'Not allowed' : p.status === 404 ? 'Not found' : p.status < 500 ? 'Refused' : 'Something is wrong'}</h1>
    <p class="error" role="alert">
      {p.message}
    </p>
  </Layout>
);

/** ISO time shown without its milliseconds. */
export const When = (p: { at: string | undefined }) => (p.at ? <time datetime={p.at}>{p.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time> : <span>—</span>);
