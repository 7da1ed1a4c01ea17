import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/adapters/http/console/console.app.js';
import { REASON_CODE_PATTERN } from '../../src/adapters/http/console/privacy.page.js';
import { ReasonCode } from '../../src/adapters/http/schemas.js';
import { customerPages } from '../support/console-pages.js';
import { makeHarness } from '../support/harness.js';
import { harnessBackend, startApi, type Api, type HttpBackend } from '../support/http-fixture.js';

// The console's defences, over HTTP as a browser would send it: sign-in, the session cookie and its
// expiry, scopes exactly as the API's, CSRF, the CSP and escaping. The browser flows are in
// console.flows.test.ts.

let harness: ReturnType<typeof makeHarness>;
const memoryBackend = async (): Promise<HttpBackend> => {
  const h = (harness = makeHarness());
  h.clock.advance(Math.max(0, Date.now() - h.clock.now()));
  return harnessBackend(h);
};

const TTL = 60_000;
let api: Api;
let customerId: string;

beforeAll(async () => {
  api = await startApi(memoryBackend, { console: { sessionKey: 'k'.repeat(40), sessionTtlMs: TTL } });
  const sent = await api.send('identify', { userId: 'sec-1', traits: { email: 'sec@example.com', nickname: '<script>alert("x")</script>' } });
  expect(sent.status).toBe(200);
  customerId = (await api.lookup('email:sec@example.com')).body.customerId;
});
afterAll(async () => {
  await api?.close();
});

const get = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
  fetch(`${api.baseUrl}${path}`, { headers: { ...headers, ...(cookie ? { cookie } : {}) }, redirect: 'manual' });
const post = (path: string, form: Record<string, string>, cookie?: string, headers: Record<string, string> = {}) =>
  fetch(`${api.baseUrl}${path}`, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers: { ...headers, ...(cookie ? { cookie } : {}) },
    redirect: 'manual',
  });

const signIn = async (token: string, headers: Record<string, string> = {}) => {
  const res = await post('/console/sign-in', { token, next: '/console' }, undefined, headers);
  expect(res.status).toBe(303);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, setCookie };
};
/** the CSRF token the session's forms carry */
const csrfOf = async (cookie: string, path: string) => {
  const html = await (await get(path, cookie)).text();
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  expect(m, 'a form with a CSRF token').not.toBeNull();
  return m![1]!;
};

describe('console security', () => {
  it('sends a page without a session to sign-in, and a wrong token gets 401 and no cookie', async () => {
    const res = await get(`/console/customers/${customerId}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/sign-in?next=${encodeURIComponent(`/console/customers/${customerId}`)}`);
    const wrong = await post('/console/sign-in', { token: 'not-a-token-at-all' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('the token is not valid');
  });

  it('sets an HttpOnly, SameSite=Strict session cookie, Secure behind HTTPS (X-Forwarded-Proto)', async () => {
    const plain = await signIn(api.keys.acmeAdmin);
    expect(plain.setCookie).toMatch(/HttpOnly/);
    expect(plain.setCookie).toMatch(/SameSite=Strict/);
    expect(plain.setCookie).toMatch(/Path=\/console/);
    expect(plain.setCookie).not.toMatch(/Secure/);
    const https = await signIn(api.keys.acmeAdmin, { 'x-forwarded-proto': 'https' });
    expect(https.setCookie).toMatch(/; Secure/);
    // the cookie holds no token in the clear
    expect(decodeURIComponent(plain.cookie)).not.toContain(api.keys.acmeAdmin);
  });

  it('serves every page with a CSP that allows no script and nothing from elsewhere', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    for (const path of ['/console/sign-in', ...customerPages(customerId)]) {
      const res = await get(path, cookie);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toBe(CONSOLE_CSP);
      const html = await res.text();
      expect(html, path).not.toMatch(/<script/i);
      expect(html, path).not.toMatch(/(src|href)="https?:\/\//);
    }
    expect(CONSOLE_CSP).toContain("default-src 'none'");
    expect(CONSOLE_CSP).not.toContain('script-src');
  });

  it('shows a trait holding <script> as text', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const html = await (await get(`/console/customers/${customerId}`, cookie)).text();
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert');
  });

  it('refuses a form POST without the CSRF token, or from another site, with 403', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const csrf = await csrfOf(cookie, `/console/customers/${customerId}/privacy`);
    const state = async () => /Processing is (not )?restricted/.exec(await (await get(`/console/customers/${customerId}/privacy`, cookie)).text())?.[0];
    expect(await state()).toBe('Processing is not restricted');
    // a customer alone is one id, not "1 customer ids"
    expect(await (await get(`/console/customers/${customerId}/privacy`, cookie)).text()).toContain('the whole identity cluster (one customer id)');
    const missing = await post(`/console/customers/${customerId}/restriction`, { restrict: 'on' }, cookie);
    expect(missing.status).toBe(403);
    const crossSite = await post(`/console/customers/${customerId}/restriction`, { restrict: 'on', _csrf: csrf }, cookie, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const fetchSite = await post(`/console/customers/${customerId}/restriction`, { restrict: 'on', _csrf: csrf }, cookie, { 'sec-fetch-site': 'cross-site' });
    expect(fetchSite.status).toBe(403);
    // nothing was restricted by the refused posts; the same form from here is taken
    const ok = await post(`/console/customers/${customerId}/restriction`, { restrict: 'on', _csrf: csrf }, cookie, { origin: api.baseUrl });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/console/customers/${customerId}/privacy?done=restricted`);
    expect(await state()).toBe('Processing is restricted');
    // the harness clock stands still: the lift is decided a moment after the restriction, as it would be
    harness.clock.advance(1_000);
    const off = await post(`/console/customers/${customerId}/restriction`, { restrict: 'off', _csrf: csrf }, cookie);
    expect(off.status).toBe(303);
    expect(await state()).toBe('Processing is not restricted');
    // a sign-in posted from another site is refused too (login CSRF)
    expect((await post('/console/sign-in', { token: api.keys.acmeAdmin }, undefined, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('gives a read-only token no unmerge, merge or erase button, and the routes refuse it with 403', async () => {
    const { cookie } = await signIn(api.keys.acmeReader);
    const identity = await (await get(`/console/customers/${customerId}/identity`, cookie)).text();
    expect(identity).toContain('Identity graph');
    expect(identity).not.toMatch(/Unmerge|\/merge"/);
    const profile = await (await get(`/console/customers/${customerId}`, cookie)).text();
    expect(profile).not.toContain('/privacy"');
    expect((await get(`/console/customers/${customerId}/privacy`, cookie)).status).toBe(403);
    expect((await get('/console/quarantine', cookie)).status).toBe(403);
    const csrf = await csrfOf(cookie, `/console/customers/${customerId}`);
    for (const [path, form] of [
      [`/console/customers/${customerId}/erase`, { confirm: customerId }],
      [`/console/customers/${customerId}/unmerge`, { mergeId: 'm', reason: 'r', confirm: 'yes' }],
      [`/console/customers/${customerId}/merge`, { otherId: 'x', reason: 'r' }],
    ] as const) {
      const res = await post(path, { ...form, _csrf: csrf }, cookie);
      expect(res.status, path).toBe(403);
    }
    // the customer is still there
    expect((await api.lookup('email:sec@example.com')).status).toBe(200);
  });

  it('lands a gdpr-only token on a page it can use, shows it no link it cannot use, and opens a privacy page by customer id', async () => {
    const landed = await post('/console/sign-in', { token: api.keys.acmeGdpr, next: '/console' });
    expect(landed.status).toBe(303);
    const cookie = (landed.headers.get('set-cookie') ?? '').split(';')[0]!;
    // the overview needs read: the console's root sends this token on to its own page
    const root = await get('/console', cookie);
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/console/privacy-requests');
    const home = await get('/console/privacy-requests', cookie);
    expect(home.status).toBe(200);
    const html = await home.text();
    const hrefs = (page: string) => [...page.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!);
    // every link on the page answers this token, none 403
    const visit = async (page: string) => {
      for (const href of hrefs(page).filter((h) => h.startsWith('/console') && !h.includes('/assets/'))) {
        const res = await get(href.replace(/&amp;/g, '&'), cookie);
        expect([200, 303], href).toContain(res.status);
      }
    };
    await visit(html);
    expect(hrefs(html)).not.toContain('/console/search');
    expect(hrefs(html)).toContain('/console/privacy-requests');
    // by id: the privacy page, whose tabs hold no 360 or identity page (both need read)
    const found = await get(`/console/privacy-requests?id=${encodeURIComponent(customerId)}`, cookie);
    expect(found.status).toBe(303);
    expect(found.headers.get('location')).toBe(`/console/customers/${customerId}/privacy`);
    const privacy = await (await get(`/console/customers/${customerId}/privacy`, cookie)).text();
    expect(privacy).toContain('Record a consent decision');
    expect(hrefs(privacy)).not.toContain(`/console/customers/${customerId}`);
    expect(hrefs(privacy)).not.toContain(`/console/customers/${customerId}/identity`);
    await visit(privacy);
    // an unknown id is said so next to the field, the form kept
    const unknown = await get('/console/privacy-requests?id=no-such-customer', cookie);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/<input id="privacy-id"[^>]* value="no-such-customer" aria-invalid="true" aria-describedby="privacy-id-error"/);
    // a reader's root is still the overview
    const reader = await signIn(api.keys.acmeReader);
    expect((await get('/console', reader.cookie)).status).toBe(200);
    // an admin token without read lands on the quarantine, which it can use
    const adminOnly = await signIn(api.keys.acmeAdminOnly);
    const adminRoot = await get('/console', adminOnly.cookie);
    expect(adminRoot.status).toBe(303);
    expect(adminRoot.headers.get('location')).toBe('/console/quarantine');
    expect((await get('/console/quarantine', adminOnly.cookie)).status).toBe(200);
    // it may record a consent (as the API lets admin), but a refused one is not a way into the privacy page
    const adminCsrf = await csrfOf(adminOnly.cookie, '/console/quarantine');
    const refused = await post(`/console/customers/${customerId}/consents`, { purpose: '', status: 'granted', _csrf: adminCsrf }, adminOnly.cookie);
    expect(refused.status).toBe(400);
    const refusal = await refused.text();
    expect(refusal).toContain('consent not recorded: a purpose is required');
    expect(refusal).not.toContain('Record a consent decision');
    expect(refusal).not.toContain('/export');
  });

  it("shows on the privacy page only the console's own notices: ?done= is a code, never text from the link", async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const at = (query: string) => get(`/console/customers/${customerId}/privacy?${query}`, cookie).then((r) => r.text());
    const notice = (html: string) =>
      /<p class="success" role="status">([\s\S]*?)<\/p>/
        .exec(html)?.[1]
        ?.replace(/<!--.*?-->|\s+/g, ' ')
        .trim();
    expect(notice(await at('done=this%20customer%20was%20erased%20on%20request'))).toBeUndefined();
    expect(await at('done=this%20customer%20was%20erased%20on%20request')).not.toContain('erased on request');
    expect(notice(await at('done=constructor'))).toBeUndefined();
    expect(notice(await at('done=restricted'))).toBe('Done: processing restricted.');
    // a consent's purpose is named only when the customer's view holds that decision
    const csrf = await csrfOf(cookie, `/console/customers/${customerId}/privacy`);
    const recorded = await post(`/console/customers/${customerId}/consents`, { purpose: 'newsletter', status: 'withdrawn', _csrf: csrf }, cookie);
    expect(recorded.status).toBe(303);
    const location = recorded.headers.get('location')!;
    expect(location).toBe(`/console/customers/${customerId}/privacy?done=consent-withdrawn&purpose=newsletter`);
    expect(notice(await (await get(location, cookie)).text())).toBe('Done: consent for newsletter recorded: withdrawn.');
    expect(notice(await at('done=consent-granted&purpose=you%20won%20a%20prize'))).toBe('Done: consent recorded: granted.');
    expect(notice(await at('done=consent-granted&purpose=newsletter'))).toBe('Done: consent recorded: granted.');
  });

  it('offers Replay only for a quarantine entry replay can take, and says why not for one it cannot (a body that was not JSON)', async () => {
    const bad = await api.request('POST', '/v1/identify', {
      writeKey: api.keys.acmeWrite,
      body: '{"userId": "half',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    const { entries } = await harness.core.quarantine.list(api.tenants.acme, { status: 'pending', limit: 500 });
    const malformed = entries.find((e) => e.reason.code === 'MALFORMED_JSON');
    expect(malformed, JSON.stringify(entries.map((e) => e.reason.code))).toBeDefined();
    const replayable = await harness.core.quarantine.hold(
      api.tenants.acme,
      'web',
      { type: 'identify', messageId: 'sec-q-1', userId: 'sec-late', traits: { email: 'sec-late@example.com' } },
      { code: 'STORE_UNAVAILABLE', message: 'held while the store was down', issues: [] },
    );
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const replayAction = (id: string) => `action="/console/quarantine/${id}/replay"`;
    const list = await (await get('/console/quarantine', cookie)).text();
    expect(list).not.toContain(replayAction(malformed!.id));
    expect(list).toContain(replayAction(replayable));
    const row = list.slice(list.indexOf(`>${malformed!.id}<`));
    expect(row.slice(0, row.indexOf('</tr>'))).toContain('Not replayable');
    const entry = await (await get(`/console/quarantine/${malformed!.id}`, cookie)).text();
    expect(entry).not.toContain(replayAction(malformed!.id));
    expect(entry).toMatch(/Not replayable: this entry keeps [^<]*MALFORMED_JSON[^<]*the sender must send it again/);
    expect(await (await get(`/console/quarantine/${replayable}`, cookie)).text()).toContain(replayAction(replayable));
  });

  it("does not find another tenant's customer", async () => {
    const { cookie } = await signIn(api.keys.globexAdmin);
    expect((await get(`/console/customers/${customerId}`, cookie)).status).toBe(404);
    const search = await get('/console/customers/lookup?identifier=email%3Asec%40example.com', cookie);
    expect(search.status).toBe(404);
    expect(await search.text()).toContain('No customer found');
  });

  it('expires the session: after its lifetime the same cookie leads to sign-in', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    expect((await get('/console', cookie)).status).toBe(200);
    api.clock.advance(TTL + 1);
    const res = await get('/console', cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/console\/sign-in/);
  });

  it('takes an email address searched alone (no type:) as an email', async () => {
    const { cookie } = await signIn(api.keys.acmeReader);
    const search = await get(`/console/search?q=${encodeURIComponent(' SEC@example.com ')}`, cookie);
    expect(search.status).toBe(303);
    expect(search.headers.get('location')).toBe(`/console/customers/lookup?identifier=${encodeURIComponent('email:SEC@example.com')}`);
    const found = await get(search.headers.get('location')!, cookie);
    expect(found.status).toBe(303);
    expect(found.headers.get('location')).toBe(`/console/customers/${customerId}`);
  });

  it('lands a merged-away id on its survivor with a notice', async () => {
    await api.send('identify', { userId: 'sec-merge-a', traits: { email: 'sec-a@example.com' } });
    await api.send('identify', { userId: 'sec-merge-b', traits: { email: 'sec-b@example.com' } });
    const [a, b] = [(await api.lookup('email:sec-a@example.com')).body.customerId, (await api.lookup('email:sec-b@example.com')).body.customerId];
    const merged = await api.request('POST', `/v1/customers/${a}/merge`, { token: api.keys.acmeAdmin, json: { otherId: b, force: true } });
    expect(merged.status).toBe(200);
    const { survivorId, absorbedId } = merged.body;
    const { cookie } = await signIn(api.keys.acmeReader);
    const search = await get(`/console/search?q=${absorbedId}`, cookie);
    expect(search.status).toBe(303);
    const hop = await get(search.headers.get('location')!, cookie);
    expect(hop.status).toBe(303);
    expect(hop.headers.get('location')).toBe(`/console/customers/${survivorId}?merged=${absorbedId}`);
    const html = await (await get(hop.headers.get('location')!, cookie)).text();
    expect(html).toContain(`${absorbedId} was merged into this customer`);
    // a made-up "merged" parameter says nothing
    expect(await (await get(`/console/customers/${survivorId}?merged=someone-else`, cookie)).text()).not.toContain('was merged into this customer');
  });

  it('records consent and lets the gdpr scope download the export', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const csrf = await csrfOf(cookie, `/console/customers/${customerId}/privacy`);
    const res = await post(`/console/customers/${customerId}/consents`, { purpose: 'marketing', status: 'granted', _csrf: csrf }, cookie);
    expect(res.status).toBe(303);
    const profile = await (await get(`/console/customers/${customerId}`, cookie)).text();
    expect(profile).toMatch(/<td>marketing<\/td><td>granted<\/td>/);
    expect(profile).toContain('Consent granted: marketing');
    const bad = await post(`/console/customers/${customerId}/consents`, { purpose: '', status: 'maybe', _csrf: csrf }, cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Not recorded: purpose: a purpose is required');
    const exported = await get(`/console/customers/${customerId}/export`, cookie);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toBe(`attachment; filename="customer-${customerId}.json"`);
    expect(JSON.stringify(await exported.json())).toContain('sec@example.com');
    const reader = await signIn(api.keys.acmeReader);
    expect((await get(`/console/customers/${customerId}/export`, reader.cookie)).status).toBe(403);
  });

  it("draws the overview from this tenant's log: the customers and the merge this file made", async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const html = await (await get('/console', cookie)).text();
    // sec-1, sec-merge-a and sec-merge-b, then one merge (the tests above, in file order)
    expect(html).toMatch(/Customers per day <span class="stat">3<\/span>/);
    expect(html).toMatch(/Merges per day <span class="stat">1<\/span>/);
    expect(html).toMatch(/<svg class="chart"[^>]*role="img"/);
    expect(html).toMatch(/<span class="stat">0<\/span> of the \d+ most recently written customers have views behind their log/);
  });

  it('sends sign-in only to a console page, never to another site', async () => {
    for (const next of ['https://evil.example/console', '//evil.example/console', '/consolex', '/console/../v1/customers']) {
      const res = await post('/console/sign-in', { token: api.keys.acmeReader, next });
      expect(res.status, next).toBe(303);
      expect(res.headers.get('location'), next).toBe('/console');
    }
    const kept = await post('/console/sign-in', { token: api.keys.acmeReader, next: `/console/customers/${customerId}` });
    expect(kept.headers.get('location')).toBe(`/console/customers/${customerId}`);
  });

  it('pages the timeline, newest first, 20 at a time', async () => {
    for (let i = 0; i < 25; i++)
      await api.send('page', {
        userId: 'sec-pages',
        name: `Page ${String(i).padStart(2, '0')}`,
        timestamp: new Date(Date.now() - (25 - i) * 60_000).toISOString(),
      });
    const id = (await api.lookup('user_id:sec-pages')).body.customerId;
    const { cookie } = await signIn(api.keys.acmeReader);
    const first = await (await get(`/console/customers/${id}`, cookie)).text();
    const titles = (html: string) => [...html.matchAll(/Viewed page (Page \d+)/g)].map((m) => m[1]);
    expect(titles(first)).toEqual(Array.from({ length: 20 }, (_, i) => `Page ${String(24 - i).padStart(2, '0')}`));
    const next = /href="([^"]+)" rel="next"/.exec(first)?.[1];
    expect(next).toBeDefined();
    const second = await (await get(next!.replace(/&amp;/g, '&'), cookie)).text();
    expect(titles(second)).toEqual(['Page 04', 'Page 03', 'Page 02', 'Page 01', 'Page 00']);
  });

  it('signs out: the cookie is cleared and the next page asks for sign-in', async () => {
    const { cookie } = await signIn(api.keys.acmeReader);
    const csrf = await csrfOf(cookie, '/console');
    expect((await post('/console/sign-out', {}, cookie)).status).toBe(403);
    const out = await post('/console/sign-out', { _csrf: csrf }, cookie);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console/sign-in');
    expect(out.headers.get('set-cookie')).toMatch(/^c360_console=; Max-Age=0; Path=\/console/);
    expect((await get('/console')).status).toBe(303);
  });

  it('on the Node server builds every URL under /console, whatever prefix a request header claims', async () => {
    const claims = { 'x-forwarded-prefix': '/evil', 'x-mount-prefix': '/evil', 'x-forwarded-path': '/evil/console' };
    const { cookie, setCookie } = await signIn(api.keys.acmeAdmin, claims);
    expect(setCookie).toMatch(/; Path=\/console(;|$)/);
    const urls: string[] = [(await get(`/console/customers/${customerId}`, undefined, claims)).headers.get('location')!];
    for (const path of ['/console/sign-in', ...customerPages(customerId)]) {
      const html = await (await get(path, cookie, claims)).text();
      urls.push(...[...html.matchAll(/\s(?:href|action|src)="([^"]*)"/g)].map((m) => m[1]!));
    }
    expect(urls.length).toBeGreaterThan(20);
    expect(urls.filter((u) => !(u === '/console' || u.startsWith('/console/')))).toEqual([]);
  });

  it('says after an unmerge what moved back: the merged-in customer with its own identifiers, and events since the merge only when there were', async () => {
    const pair = async (tag: string) => {
      await api.send('identify', { userId: `un-${tag}-a`, traits: { email: `un-${tag}-a@example.com` } });
      await api.send('identify', { userId: `un-${tag}-b`, traits: { email: `un-${tag}-b@example.com` } });
      const [a, b] = [(await api.lookup(`email:un-${tag}-a@example.com`)).body.customerId, (await api.lookup(`email:un-${tag}-b@example.com`)).body.customerId];
      const merged = await api.request('POST', `/v1/customers/${a}/merge`, { token: api.keys.acmeAdmin, json: { otherId: b, force: true } });
      expect(merged.status).toBe(200);
      return merged.body as { mergeId: string; survivorId: string; absorbedId: string };
    };
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const csrf = await csrfOf(cookie, `/console/customers/${customerId}/identity`);
    const unmerge = async (m: { mergeId: string; survivorId: string }) => {
      const res = await post(`/console/customers/${m.survivorId}/unmerge`, { mergeId: m.mergeId, reason: 'wrong pair', confirm: 'yes', _csrf: csrf }, cookie);
      expect(res.status).toBe(200);
      const html = await res.text();
      return /<div class="success" role="status">([\s\S]*?)<\/div>/
        .exec(html)![1]!
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ');
    };

    // nothing happened to the merged-in side after the merge: no "0 identifiers" as if none came back
    const still = await pair('still');
    const quiet = await unmerge(still);
    expect(quiet).toContain(`${still.absorbedId} (the customer merged in, separate again with the identifiers it brought to the merge)`);
    expect(quiet).toContain('No event recorded since the merge belonged to the customer merged in: nothing else moved back.');
    expect(quiet).not.toMatch(/\b0 (identifiers|events)/);

    // after the merge the merged-in side's user id came with a new email: that event and its identifier go back
    const busy = await pair('busy');
    await api.send('identify', { userId: 'un-busy-b', traits: { email: 'un-busy-b-new@example.com' } });
    expect((await api.lookup('email:un-busy-b-new@example.com')).body.customerId).toBe(busy.survivorId);
    const moved = await unmerge(busy);
    const m =
      /Since the merge, (\d+) events? recorded on the survivor belonged to the customer merged in and moved back to it, with 1 identifier they linked\./.exec(
        moved,
      );
    expect(m, moved).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect((await api.lookup('email:un-busy-b-new@example.com')).body.customerId).toBe(busy.absorbedId);
  });

  it('shows the unmerge form only for a merge the customer holds: an undone one is said to be undone, an unknown one is not found', async () => {
    await api.send('identify', { userId: 'un-twice-a', traits: { email: 'un-twice-a@example.com' } });
    await api.send('identify', { userId: 'un-twice-b', traits: { email: 'un-twice-b@example.com' } });
    const [a, b] = [(await api.lookup('email:un-twice-a@example.com')).body.customerId, (await api.lookup('email:un-twice-b@example.com')).body.customerId];
    const merged = (await api.request('POST', `/v1/customers/${a}/merge`, { token: api.keys.acmeAdmin, json: { otherId: b, force: true } })).body as {
      mergeId: string;
      survivorId: string;
      absorbedId: string;
    };
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const form = `/console/customers/${merged.survivorId}/unmerge?mergeId=${encodeURIComponent(merged.mergeId)}`;
    const before = await (await get(form, cookie)).text();
    expect(before).toContain(`action="/console/customers/${merged.survivorId}/unmerge"`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(before)![1]!;
    const undone = await post(
      `/console/customers/${merged.survivorId}/unmerge`,
      { mergeId: merged.mergeId, reason: 'wrong pair', confirm: 'yes', _csrf: csrf },
      cookie,
    );
    expect(undone.status).toBe(200);
    const again = await get(form, cookie);
    expect(again.status).toBe(200);
    const html = (await again.text()).replace(/<!--.*?-->|\s+/g, ' ');
    expect(html).not.toContain(`action="/console/customers/${merged.survivorId}/unmerge"`);
    expect(html).toMatch(new RegExp(`Merge <code>${merged.mergeId}</code> was already undone \\(<time`));
    expect(html).toContain(`<a href="/console/customers/${merged.absorbedId}">${merged.absorbedId}</a> is separate again`);
    const unknown = await get(`/console/customers/${merged.survivorId}/unmerge?mergeId=no-such-merge`, cookie);
    expect(unknown.status).toBe(404);
    const unknownHtml = await unknown.text();
    expect(unknownHtml).not.toContain(`action="/console/customers/${merged.survivorId}/unmerge"`);
    expect(unknownHtml).toContain('has no merge <code>no-such-merge</code>');
  });

  it('a refused consent comes back as the form with what was typed, the field marked and the error beside it; the purpose takes at most 64 characters', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const html = await (await get(`/console/customers/${customerId}/privacy`, cookie)).text();
    expect(/<input id="purpose"[^>]*>/.exec(html)![0]).toContain('maxlength="64"');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const long = 'p'.repeat(65);
    const tooLong = await post(`/console/customers/${customerId}/consents`, { purpose: long, status: 'withdrawn', source: 'crm', _csrf: csrf }, cookie);
    expect(tooLong.status).toBe(400);
    const page = await tooLong.text();
    expect(page).toMatch(/role="alert" id="consent-error">Not recorded: purpose: a purpose is at most 64 characters \(this one has 65\)/);
    expect(page).toMatch(new RegExp(`<input id="purpose" name="purpose"[^>]* value="${long}" aria-invalid="true" aria-describedby="consent-error"`));
    expect(page).toMatch(/<option value="withdrawn" selected="">/);
    expect(page).toMatch(/<input id="source" name="source"[^>]* value="crm"/);
    expect(page).not.toMatch(/<input id="source"[^>]*aria-invalid/);
    // the rest of the privacy page is there too, with its way back
    expect(page).toContain('Erase this customer');
    expect(page).toContain(`href="/console/customers/${customerId}/privacy"`);
    const spaces = await post(`/console/customers/${customerId}/consents`, { purpose: '   ', status: 'granted', _csrf: csrf }, cookie);
    expect(spaces.status).toBe(400);
    expect(await spaces.text()).toMatch(/id="consent-error">Not recorded: purpose: a purpose is required/);
    const badSource = await post(`/console/customers/${customerId}/consents`, { purpose: 'sms', status: 'granted', source: 'a b', _csrf: csrf }, cookie);
    expect(badSource.status).toBe(400);
    expect(await badSource.text()).toMatch(/<input id="source" name="source"[^>]* value="a b" aria-invalid="true"/);
    // nothing was recorded
    const profile = await (await get(`/console/customers/${customerId}`, cookie)).text();
    expect(profile).not.toContain(long);
    expect(profile).not.toMatch(/<td>sms<\/td>/);
  });

  it('offers only reason codes the API takes, and a refused erasure form comes back with what was typed and the field named', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const html = await (await get(`/console/customers/${customerId}/privacy`, cookie)).text();
    const input = /<input id="erase-reason"[^>]*>/.exec(html)![0];
    expect(input).toContain('maxlength="64"');
    const pattern = /pattern="([^"]+)"/.exec(input)![1]!.replace(/&amp;/g, '&');
    expect(pattern).toBe(REASON_CODE_PATTERN);
    // the browser checks a value against ^(?:pattern)$ with the v flag: the same values as the API's schema
    const browser = new RegExp(`^(?:${pattern})$`, 'v');
    for (const value of ['art17-request', 'gdpr:art.17_b', 'x'.repeat(64), 'x'.repeat(65), 'because they asked', 'art17/request', 'été', 'a\nb'])
      expect(browser.test(value), value).toBe(ReasonCode.safeParse(value).success);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

    const freeText = await post(`/console/customers/${customerId}/erase`, { confirm: customerId, reason: 'the customer asked by phone', _csrf: csrf }, cookie);
    expect(freeText.status).toBe(400);
    const refused = await freeText.text();
    expect(refused).toMatch(/role="alert" id="erase-error">Not erased: the reason code \(reason\): the reason must be a reason code/);
    expect(refused).toMatch(new RegExp(`<input id="confirm" name="confirm"[^>]* value="${customerId}"`));
    expect(refused).toMatch(/<input id="erase-reason"[^>]* value="the customer asked by phone" aria-invalid="true" aria-describedby="erase-error"/);
    expect(refused).not.toMatch(/<input id="confirm"[^>]*aria-invalid/);

    const wrongId = await post(`/console/customers/${customerId}/erase`, { confirm: 'not-the-id', reason: 'art17-request', _csrf: csrf }, cookie);
    expect(wrongId.status).toBe(400);
    const again = await wrongId.text();
    expect(again).toContain('Not erased: the confirmation (confirm): to erase, type the customer id');
    expect(again).toMatch(/<input id="confirm" name="confirm"[^>]* value="not-the-id" aria-invalid="true" aria-describedby="erase-error"/);
    expect(again).toMatch(/<input id="erase-reason"[^>]* value="art17-request"/);
    // nothing was erased
    expect((await api.lookup('email:sec@example.com')).status).toBe(200);
  });

  it('a tampered cookie is no session', async () => {
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const [name, value] = cookie.split('=') as [string, string];
    // one character of the sealed part changed (the middle one: all six of its bits are data)
    const at = value.indexOf('.') + Math.floor((value.length - value.indexOf('.')) / 2);
    const flipped = `${name}=${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
    expect(flipped).not.toBe(cookie);
    expect((await get('/console', flipped)).status).toBe(303);
  });

  it('shows AOV per currency, and says that orders in another currency than the scores are not in CLV', async () => {
    await api.send('track', { userId: 'gbp-1', event: 'Order Completed', properties: { order_id: 'gbp-o-1', revenue: 25, currency: 'GBP' } });
    const id = (await api.lookup('user_id:gbp-1')).body.customerId;
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const html = (await (await get(`/console/customers/${id}`, cookie)).text()).replace(/<!--.*?-->|\s+/g, ' ');
    expect(html).toMatch(/revenue 25\.00 GBP/);
    // one of each is counted in the singular
    expect(html).toMatch(/<span class="stat">1<\/span> order; revenue 25\.00 GBP/);
    expect(html).toMatch(/Frequency \d: 1 order \(2 to 5/);
    expect(html).not.toMatch(/\b1 (orders|events|days)\b/);
    expect(html).toMatch(/AOV 25\.00 GBP · CLV 0\.00 USD/);
    expect(html).toMatch(/count orders in USD only \(C360_SCORE_CURRENCY\); the revenue in GBP is not in them/);
    // a customer with orders in the score currency only is told nothing more
    expect((await (await get(`/console/customers/${customerId}`, cookie)).text()).includes('count orders in')).toBe(false);
  });

  it("shows each revenue in its currency's minor units: 1500 JPY, 1.234 BHD", async () => {
    await api.send('track', { userId: 'yen-1', event: 'Order Completed', properties: { order_id: 'yen-o-1', revenue: 1500, currency: 'JPY' } });
    await api.send('track', { userId: 'yen-1', event: 'Order Completed', properties: { order_id: 'yen-o-2', revenue: 1.234, currency: 'BHD' } });
    const id = (await api.lookup('user_id:yen-1')).body.customerId;
    const { cookie } = await signIn(api.keys.acmeAdmin);
    const html = (await (await get(`/console/customers/${id}`, cookie)).text()).replace(/<!--.*?-->|\s+/g, ' ');
    expect(html).toMatch(/revenue 1500 JPY, 1\.234 BHD/);
    expect(html).toContain('Order yen-o-1 1500 JPY');
  });
});
