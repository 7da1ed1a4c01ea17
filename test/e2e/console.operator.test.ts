import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleRig, TOKENS, type ConsoleRig } from '../support/console-browser.js';

// The console's tenant-wide pages in a real browser (Debian's Chromium through playwright-core)
// against a real server on the embedded SQLite store: no page makes the browser log an error (it
// links the console's own icon, so no /favicon.ico is asked for), and the overview says which
// events it counts.

let rig: ConsoleRig;

beforeAll(async () => {
  rig = await startConsoleRig();
}, 120_000);
afterAll(async () => {
  await rig?.close();
});

describe('the console pages in a browser', () => {
  it('log no browser error and ask for no /favicon.ico; the overview counts every event of a small log and says so', async () => {
    for (let i = 0; i < 3; i++) await rig.send('identify', { userId: `op-${i}`, traits: { email: `op-${i}@example.com` } });
    const page = await rig.signedIn(TOKENS.admin);
    const errors: string[] = [];
    const asked: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    for (const path of ['/console', '/console/matches', '/console/search', '/console/quarantine', '/console/privacy']) {
      const res = await page.goto(`${rig.url}${path}`);
      expect(res?.status(), path).toBe(200);
      // the icon is the console's own, under its base (the CSP's img-src 'self')
      await expect(page.locator('link[rel="icon"]').getAttribute('href')).resolves.toBe('/console/assets/icon.svg');
    }
    await page.goto(`${rig.url}/console`);
    // biome-ignore lint/performance/useDomNodeTextContent: rendered text is what a person reads
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/The last 14 days of tenant \S+, from all \d+ events of the log\./);
    await page.waitForLoadState('networkidle');
    const icon = await page.request.get(`${rig.url}/console/assets/icon.svg`);
    expect(icon.status()).toBe(200);
    expect(icon.headers()['content-type']).toBe('image/svg+xml');
    expect(await icon.text()).toMatch(/^<svg /);
    expect(asked.filter((p) => p.endsWith('favicon.ico'))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
