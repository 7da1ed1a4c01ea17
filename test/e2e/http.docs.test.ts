import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve, type RunningServer } from '../../src/infrastructure/server.js';

// /docs as npm start serves it: Swagger UI from the pinned swagger-ui-dist package, every file
// from this server (works offline, nothing from a CDN), each URL on the page same-origin, each served.

let server: RunningServer;
beforeAll(async () => {
  server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0' }), () => {});
});
afterAll(async () => {
  await server?.close();
});

const swaggerUiDist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** every URL the page makes the browser load: src, href and our data-openapi */
const referencedUrls = (html: string): string[] => [...html.matchAll(/\s(?:src|href|data-openapi)="([^"]*)"/g)].map((m) => m[1]!);

describe('GET /docs', () => {
  it('references only same-origin assets, and each is served with its type', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const refs = referencedUrls(html);
    expect(refs.length).toBeGreaterThanOrEqual(4); // stylesheet, icon, bundle, start-up script, the document
    expect(html).not.toMatch(/https?:\/\/|cdn|jsdelivr|unpkg/i);
    const origin = new URL(server.url).origin;
    const types: Record<string, RegExp> = { css: /^text\/css/, js: /^text\/javascript/, png: /^image\/png/, json: /^application\/json/ };
    for (const ref of refs) {
      expect(ref, 'a relative URL: no scheme, no host').toMatch(/^\.\/[\w./-]+$/);
      const url = new URL(ref, page.url);
      expect(url.origin).toBe(origin);
      const res = await fetch(url);
      expect(res.status, url.pathname).toBe(200);
      expect(res.headers.get('content-type'), url.pathname).toMatch(types[url.pathname.split('.').at(-1)!]!);
      expect((await res.arrayBuffer()).byteLength, url.pathname).toBeGreaterThan(0);
    }
  });

  it("serves the pinned package's own files, byte for byte, and a start-up script that uses them", async () => {
    for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const served = Buffer.from(await (await fetch(`${server.url}/docs/${name}`)).arrayBuffer());
      expect(served.equals(await readFile(join(swaggerUiDist, name))), name).toBe(true);
    }
    const init = await (await fetch(`${server.url}/docs/init.js`)).text();
    expect(init).toContain('SwaggerUIBundle(');
    expect(init).toContain('dataset.openapi');
  });

  it('allows scripts, styles and requests from its own origin alone (CSP)', async () => {
    const csp = (await fetch(`${server.url}/docs`)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
  });

  it('answers 404 for any other name under /docs (no path into the package or the disk)', async () => {
    for (const name of ['package.json', 'index.html', '..%2Fpackage.json', '..%2F..%2Fsecrets.json']) {
      const res = await fetch(`${server.url}/docs/${name}`);
      expect(res.status, name).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
  });
});
