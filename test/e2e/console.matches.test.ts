import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { makeHarness } from '../support/harness.js';
import { startApi, type Api } from '../support/http-fixture.js';
import { matchPerson } from '../support/match-people.js';

// The console's review queue of probable duplicates, over HTTP as a browser sends it: the queue
// page and the customer's identity page list each suggested pair with its probability and
// evidence; an admin accepts (a merge, with the score as evidence) or rejects (never suggested
// again); a reader sees the queue and no decision.

let api: Api;
const person = (i: number) => matchPerson(i, 'leeds');
const twinOf = (i: number) => ({ ...person(i), firstName: `${person(i).firstName}e`, email: `${person(i).firstName}.${i}@other.example` });
const ids: string[] = [];
const twins: string[] = [];

beforeAll(async () => {
  api = await startApi(
    async () => {
      const h = makeHarness();
      h.clock.advance(Math.max(0, Date.now() - h.clock.now()));
      return { core: h.core, intake: syncIntake(h.core.ingest), sourceOf: () => h.web, metrics: h.ports.metrics };
    },
    { console: { sessionKey: 'k'.repeat(40) } },
  );
  const identify = async (who: Record<string, string>, traits: Record<string, unknown>) => {
    const r = await api.send('identify', { ...who, traits });
    expect(r.status, r.text).toBe(200);
    return r.body.customerId as string;
  };
  for (let i = 0; i < 20; i++) ids.push(await identify({ userId: `q-${i}` }, person(i)));
  for (const i of [2, 9]) twins.push(await identify({ anonymousId: `twin-${i}` }, twinOf(i)));
  // globex: more pairs than a page holds (a person entered COPIES times, each copy with its own email)
  for (let i = 0; i < 20; i++) {
    const r = await api.send('identify', { userId: `g-${i}`, traits: person(i) }, api.keys.globexWrite);
    expect(r.status, r.text).toBe(200);
  }
  for (let k = 0; k < COPIES; k++) {
    const r = await api.send('identify', { anonymousId: `copy-${k}`, traits: { ...person(4), email: `mia.4@copy${k}.example` } }, api.keys.globexWrite);
    expect(r.status, r.text).toBe(200);
  }
});
const COPIES = 11;
afterAll(async () => {
  await api?.close();
});

const get = (path: string, cookie: string) => fetch(`${api.baseUrl}${path}`, { headers: { cookie }, redirect: 'manual' });
const post = (path: string, form: Record<string, string>, cookie: string) =>
  fetch(`${api.baseUrl}${path}`, { method: 'POST', body: new URLSearchParams(form), headers: { cookie }, redirect: 'manual' });
const signIn = async (token: string) => {
  const res = await fetch(`${api.baseUrl}/console/sign-in`, { method: 'POST', body: new URLSearchParams({ token, next: '/console' }), redirect: 'manual' });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
};
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const queue = async (cookie: string) => {
  const res = await get('/console/matches', cookie);
  expect(res.status).toBe(200);
  return res.text();
};

describe('the console review queue', () => {
  it('lists every suggested pair once with its probability and evidence; a reader gets no decision buttons', async () => {
    const reader = await signIn(api.keys.acmeReader);
    const html = await queue(reader);
    expect(html).toContain('Probable duplicates');
    for (const [a, b] of [
      [ids[2]!, twins[0]!],
      [ids[9]!, twins[1]!],
    ]) {
      const [x, y] = [a, b].sort();
      expect(html.split(`${x}</a> ~ `).length - 1, 'each pair once').toBe(1);
      expect(html).toContain(`>${y}</a>`);
    }
    expect(html).toMatch(/surname exact \+\d+\.\d/);
    expect(html).not.toMatch(/>Accept</);
    // on the customer's identity page, the same pair with its other customer
    const identity = await (await get(`/console/customers/${ids[2]}/identity`, reader)).text();
    expect(identity).toContain('Probable duplicates');
    expect(identity).toContain(twins[0]);
    // a reader may not decide
    const refused = await post(`/console/customers/${ids[2]}/matches/reject`, { otherId: twins[0]!, _csrf: csrfOf(html) }, reader);
    expect(refused.status).toBe(403);
  });

  it('an admin rejects one pair (gone from the queue, for good) and accepts the other (merged, the score in its evidence)', async () => {
    const admin = await signIn(api.keys.acmeAdmin);
    const html = await queue(admin);
    const csrf = csrfOf(html);
    expect(html).toMatch(/>Accept</);
    // without the other customer the form is refused naming the field
    const empty = await post(`/console/customers/${ids[2]}/matches/reject`, { otherId: '', _csrf: csrf }, admin);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('the other customer of the pair is required');

    const rejected = await post(`/console/customers/${ids[2]}/matches/reject`, { otherId: twins[0]!, _csrf: csrf }, admin);
    expect(rejected.status).toBe(303);
    expect(rejected.headers.get('location')).toBe(`/console/customers/${ids[2]}/identity`);
    const after = await queue(admin);
    expect(after).not.toContain(twins[0]);
    expect(after).toContain(twins[1]);

    const accepted = await post(`/console/customers/${twins[1]}/matches/accept`, { otherId: ids[9]!, _csrf: csrf }, admin);
    expect(accepted.status).toBe(303);
    const survivor = decodeURIComponent(accepted.headers.get('location')!.split('/customers/')[1]!.split('/')[0]!);
    expect([ids[9], twins[1]]).toContain(survivor);
    const identity = await (await get(`/console/customers/${survivor}/identity`, admin)).text();
    expect(identity).toMatch(/probabilistic match accepted: p=[01]\.\d+/);
    expect(await queue(admin)).toContain('No probable duplicate on this page.');
  });
});

describe('a refused match decision', () => {
  const links = (html: string) => [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!);

  it('says why and leads on: to the customers involved that exist, and back to the review queue', async () => {
    const admin = await signIn(api.keys.acmeAdmin);
    const csrf = csrfOf(await queue(admin));
    // two people no score joins: not a suggested pair
    const notSuggested = await post(`/console/customers/${ids[0]}/matches/accept`, { otherId: ids[1]!, _csrf: csrf }, admin);
    expect(notSuggested.status).toBe(409);
    const html = await notSuggested.text();
    expect(html).toContain('<h1>Match not merged</h1>');
    expect(html).toMatch(/role="alert">[^<]*are not a suggested match now/);
    expect(links(html)).toEqual(expect.arrayContaining([`/console/customers/${ids[0]}/identity`, `/console/customers/${ids[1]}/identity`, '/console/matches']));
    // an id that names no customer gets no link
    const unknown = await post(`/console/customers/${ids[0]}/matches/accept`, { otherId: 'no-such-customer', _csrf: csrf }, admin);
    expect(unknown.status).toBe(404);
    const unknownHtml = await unknown.text();
    expect(links(unknownHtml)).toEqual(expect.arrayContaining([`/console/customers/${ids[0]}/identity`, '/console/matches']));
    expect(unknownHtml).not.toContain('/console/customers/no-such-customer');
  });
});

describe('a suggested pair past an identity limit', () => {
  it('is refused naming the limit and what to do here, with a form that accepts it forced; the merge is recorded as forced', async () => {
    // two user ids: the user_id limit of 1 refuses their merge unless forced
    const p = { ...person(40), firstName: 'zara', lastName: 'quennell' };
    const lookalikes: string[] = [];
    for (const [n, email] of [
      [1, 'zara.q@mail.example'],
      [2, 'zara.q@other.example'],
    ] as const) {
      const r = await api.send('identify', { userId: `lim-${n}`, traits: { ...p, email } });
      expect(r.status, r.text).toBe(200);
      lookalikes.push(r.body.customerId as string);
    }
    const [a, b] = lookalikes as [string, string];
    const admin = await signIn(api.keys.acmeAdmin);
    const html = await queue(admin);
    expect(html).toContain(`>${[a, b].sort()[1]}</a>`);
    const csrf = csrfOf(html);
    const refused = await post(`/console/customers/${a}/matches/accept`, { otherId: b, _csrf: csrf }, admin);
    expect(refused.status).toBe(409);
    const page = await refused.text();
    expect(page).toMatch(/role="alert">\s*user_id limit 1 would be exceeded \(2\)\.\s*</);
    expect(page).not.toContain('pass force');
    expect(page).toContain('tick &quot;Force past identity limits&quot; below and accept again');
    // the form: the same pair, force for the user to tick (required: the browser sends nothing without it)
    const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page.split('role="alert"')[1]!);
    expect(form?.[1]).toBe(`/console/customers/${a}/matches/accept`);
    expect(form![2]).toContain(`name="otherId" value="${b}"`);
    expect(form![2]).toMatch(/<input id="accept-force" name="force" type="checkbox" value="true" required/);
    expect(form![2]).toMatch(/<label for="accept-force"[^>]*>\s*Force past identity limits/);
    const forced = await post(`/console/customers/${a}/matches/accept`, { otherId: b, force: 'true', _csrf: csrf }, admin);
    expect(forced.status).toBe(303);
    const survivor = decodeURIComponent(forced.headers.get('location')!.split('/customers/')[1]!.split('/')[0]!);
    expect([a, b]).toContain(survivor);
    // the identity graph labels the merge forced, as the API's explain records it
    expect(await (await get(`/console/customers/${survivor}/identity`, admin)).text()).toMatch(/>merged: [\w-]+ \(forced\)</);
    await api.settle();
    const explained = await api.request('GET', `/v1/customers/${survivor}/explain`, { token: api.keys.acmeReader });
    expect(JSON.stringify(explained.body)).toContain('"forced":true');
  });
});

describe('the review queue a page at a time', () => {
  const pairsOf = (html: string) => [...html.matchAll(/identity">([\w-]+)<\/a> ~ <a href="[^"]+">([\w-]+)<\/a>/g)].map((m) => `${m[1]} ${m[2]}`);
  const nextOf = (html: string) => /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(html)?.[1]?.replaceAll('&amp;', '&');

  it('shows at most 50 pairs a page, with a next link while more follow and a link back to the first page; every pair once over the pages', async () => {
    const admin = await signIn(api.keys.globexAdmin);
    const pages: string[][] = [];
    let html = await queue(admin);
    expect(html).not.toContain('rel="first"');
    for (;;) {
      pages.push(pairsOf(html));
      const next = nextOf(html);
      if (!next) break;
      expect(pages.length, 'a bounded number of pages').toBeLessThan(10);
      const res = await get(next, admin);
      expect(res.status).toBe(200);
      html = await res.text();
      expect(html).toContain(`<a href="/console/matches" rel="first">First page</a>`);
    }
    const all = pages.flat();
    // the person and its copies: every two of them a pair
    const expected = ((COPIES + 1) * COPIES) / 2;
    expect(all.length).toBeGreaterThanOrEqual(expected);
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(50);
    expect(pages[0]).toHaveLength(50);
    expect(new Set(all).size, 'each pair once').toBe(all.length);
    expect(all, 'in the order of their customer ids').toEqual([...all].sort());
    expect(html).toContain(`${pages.at(-1)!.length} pairs on this page (at most 50)`);
    // a cursor not made by the console is refused naming it
    const bad = await get('/console/matches?cursor=not-a-cursor', admin);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('cursor');
  });
});
