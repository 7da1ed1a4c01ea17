import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// The docs page: Swagger UI served by this API itself from the `swagger-ui-dist` package (an optional
// peer dependency, its exact version pinned in the repository's lockfile), never from a CDN, so /docs works offline and runs no script
// that the lockfile does not pin. Every URL on the page is relative: behind a path prefix (an API
// Gateway stage) the page, its assets and /openapi.json still resolve next to each other.

export const DOCS_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Our own start-up script: a file, not inline, so the page's CSP allows scripts from this origin alone. */
export const DOCS_INIT = 'init.js';
const INIT_SCRIPT = `window.addEventListener('load', () => {
  const root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({ url: root.dataset.openapi, dom_id: '#swagger-ui', deepLinking: true });
});
`;

/** Served at /docs: assets under /docs/<name>, relative to the page. */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Customer 360 API</title>
    <link rel="stylesheet" href="./docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="./docs/favicon-32x32.png">
  </head>
  <body>
    <div id="swagger-ui" data-openapi="./openapi.json"></div>
    <script src="./docs/swagger-ui-bundle.js"></script>
    <script src="./docs/${DOCS_INIT}"></script>
  </body>
</html>
`;

/**
 * Without the package (the Lambda bundles leave its 1.7 MB out; an installed customer360-core has it
 * as an optional peer dependency, not installed with it): a page that says so, not a blank one.
 */
export const DOCS_UNAVAILABLE_HTML = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Customer 360 API</title></head>
  <body>
    <p>Swagger UI's files (the swagger-ui-dist package) are not in this build. The OpenAPI document is at
    <a href="./openapi.json">./openapi.json</a>; <code>npm install swagger-ui-dist</code> beside customer360-core
    (or <code>npm start</code> in its repository) serves this page with them.</p>
  </body>
</html>
`;

/** Same-origin everything; Swagger UI sets style attributes, and fetches /openapi.json and "try it out" calls here. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export type DocsAsset = { readonly body: Uint8Array<ArrayBuffer> | string; readonly contentType: string };

const cache = new Map<string, Promise<DocsAsset | undefined>>();

let resolved: { readonly dir: string | undefined } | undefined;
const packageDir = (): string | undefined => {
  if (!resolved) {
    try {
      resolved = { dir: dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')) };
    } catch {
      resolved = { dir: undefined }; // not installed, or a bundle built without it (the Lambda functions)
    }
  }
  return resolved.dir;
};

/** The page for /docs: Swagger UI when its files are here, else a note that points at the document. */
export const docsPage = (): string => (packageDir() ? DOCS_HTML : DOCS_UNAVAILABLE_HTML);

/** One of the page's files, read once and kept; undefined for any other name, or when the package is not there. */
export const docsAsset = (name: string): Promise<DocsAsset | undefined> => {
  if (name === DOCS_INIT) return Promise.resolve({ body: INIT_SCRIPT, contentType: 'text/javascript; charset=utf-8' });
  const contentType = DOCS_ASSETS[name];
  if (!contentType) return Promise.resolve(undefined);
  let found = cache.get(name);
  if (!found) {
    const dir = packageDir();
    found = dir
      ? readFile(join(dir, name)).then((file) => ({ body: new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength)), contentType }))
      : Promise.resolve(undefined);
    cache.set(name, found);
  }
  return found;
};
