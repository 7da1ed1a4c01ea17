import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve, type RunningServer } from '../../src/infrastructure/server.js';

// A real server on the embedded SQLite store (as `npm start` runs it) and Debian's Chromium driven
// by playwright-core. No browser is ever downloaded: the system one is launched by its path.

export const CHROMIUM = process.env.C360_CHROMIUM ?? '/usr/bin/chromium';
/** where the flows' screenshots go (gitignored) */
export const SCREENSHOTS = resolve('test-artifacts/console');

export const TENANT = 'acme';
export const TOKENS = { admin: 'console-admin-token-0123456789', reader: 'console-reader-token-0123456789', writeKey: 'console-write-key-0123456789' };

export type ConsoleRig = {
  readonly url: string;
  readonly server: RunningServer;
  readonly browser: Browser;
  /** a Segment call through the API with the write key */
  send(type: string, call: Record<string, unknown>): Promise<void>;
  /** the customer id holding an identifier, or undefined (API lookup) */
  customerOf(identifier: string): Promise<string | undefined>;
  /** a new page, signed in with the token */
  signedIn(token: string): Promise<Page>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
};

/** `env`: more server settings, e.g. a quicker lake follow for the analytics pages */
export const startConsoleRig = async (env: Record<string, string> = {}): Promise<ConsoleRig> => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set C360_CHROMIUM`);
  const root = await mkdtemp(join(tmpdir(), 'c360-console-'));
  const credentials = join(root, 'credentials.json');
  await writeFile(
    credentials,
    JSON.stringify({
      credentials: [
        { id: 'console-admin', tenant: TENANT, kind: 'token', secret: TOKENS.admin, scopes: ['read', 'admin', 'gdpr'] },
        { id: 'console-reader', tenant: TENANT, kind: 'token', secret: TOKENS.reader, scopes: ['read'] },
        { id: 'console-web', tenant: TENANT, kind: 'writeKey', secret: TOKENS.writeKey, scopes: ['ingest'], source: 'web' },
      ],
    }),
  );
  const server = await serve(
    loadConfig({ C360_DATA_DIR: join(root, 'data'), C360_STORE: 'sqlite', PORT: '0', C360_CREDENTIALS_FILE: credentials, C360_TENANT: TENANT, ...env }),
    () => {},
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  await mkdir(SCREENSHOTS, { recursive: true });
  const basic = `Basic ${Buffer.from(`${TOKENS.writeKey}:`).toString('base64')}`;
  return {
    url: server.url,
    server,
    browser,
    async send(type, call) {
      const res = await fetch(`${server.url}/v1/${type}`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify(call),
      });
      if (res.status !== 200) throw new Error(`${type}: ${res.status} ${await res.text()}`);
    },
    async customerOf(identifier) {
      const res = await fetch(`${server.url}/v1/customers?identifier=${encodeURIComponent(identifier)}`, {
        headers: { authorization: `Bearer ${TOKENS.admin}` },
      });
      return res.status === 200 ? ((await res.json()) as { customerId: string }).customerId : undefined;
    },
    async signedIn(token) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/console`);
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}/console`);
      return page;
    },
    async screenshot(page, name) {
      const file = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`screenshot: ${file}`);
      return file;
    },
    async close() {
      await browser.close();
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
};
