import type { Child } from 'hono/jsx';
import type { Principal } from '../../../application/ports/access.port.js';

// The page frame: navigation by the viewer's scopes (a link to a page the credential may not see is
// not shown; the route refuses it anyway), and sign-out as a CSRF-protected form.

export const BASE = '/console';

export type Frame = { readonly viewer?: Principal | undefined; readonly csrf?: string | undefined };

export const CsrfField = (p: { csrf: string }) => <input type="hidden" name="_csrf" value={p.csrf} />;

export const Layout = (p: Frame & { title: string; children?: Child }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${p.title} · Customer 360 console`}</title>
      <link rel="stylesheet" href={`${BASE}/assets/console.css`} />
    </head>
    <body>
      <header class="top">
        <strong>Customer 360</strong>
        {p.viewer ? (
          <>
            <nav aria-label="Console">
              {p.viewer.scopes.has('read') ? <a href={BASE}>Overview</a> : null}
              {p.viewer.scopes.has('read') ? <a href={`${BASE}/search`}>Search</a> : null}
              {p.viewer.scopes.has('admin') ? <a href={`${BASE}/privacy`}>Erasures &amp; audit</a> : null}
              {p.viewer.scopes.has('admin') ? <a href={`${BASE}/quarantine`}>Quarantine</a> : null}
            </nav>
            <span class="who">
              {p.viewer.id} · tenant {p.viewer.tenant} · {[...p.viewer.scopes].join(', ')}
            </span>
            {p.csrf ? (
              <form method="post" action={`${BASE}/sign-out`}>
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
