import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatchRecord } from '../../src/domain/matching/match-record.js';
import { TENANT, TOKENS, startConsoleRig, type ConsoleRig } from '../support/console-browser.js';
import { generatePeople } from '../support/linkage-generator.js';

// The console in a real browser (Debian's Chromium through playwright-core) against a real server
// on the embedded SQLite store: the flows a support agent, an identity admin and a privacy officer
// go through. Each flow saves a screenshot under test-artifacts/console (the path is printed).

let rig: ConsoleRig;

/** the text as the browser renders it (a Playwright locator's innerText, not the DOM property) */
// biome-ignore lint/performance/useDomNodeTextContent: rendered text is what a person reads
const shown = (l: Locator) => l.innerText();

beforeAll(async () => {
  // the lake follows the log every second, so the analytics pages see a call within a test
  rig = await startConsoleRig({ C360_LAKE_FOLLOW_SECONDS: '1' });
}, 120_000);
afterAll(async () => {
  await rig?.close();
});

describe('the console in a browser', () => {
  it('signs in, searches by email and shows identifiers, orders and scores; a <script> trait is text', async () => {
    await rig.send('identify', { userId: 'ada-1', traits: { email: 'ada@example.com', name: 'Ada Lovelace', nickname: '<script>alert(1)</script>' } });
    for (const [orderId, revenue] of [
      ['o-1', 40],
      ['o-2', 60],
      // o-1 again (a reloaded thank-you page): kept, not counted
      ['o-1', 40],
    ] as const)
      await rig.send('track', { userId: 'ada-1', event: 'Order Completed', properties: { order_id: orderId, revenue, currency: 'USD' } });
    const page = await rig.signedIn(TOKENS.admin);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await expect(page.getByRole('heading', { name: 'Overview' })).toBeTruthy();
    await rig.screenshot(page, 'overview');
    await page.getByRole('link', { name: 'Search' }).click();
    await page.getByLabel(/Identifier/).fill('email:ada@example.com');
    await rig.screenshot(page, 'search');
    await page.getByRole('button', { name: 'Search' }).click();
    const id = await rig.customerOf('email:ada@example.com');
    await page.waitForURL(`${rig.url}/console/customers/${id}`);
    const text = await shown(page.locator('main'));
    expect(text).toContain('ada@example.com');
    expect(text).toMatch(/user_?id\s+ada-1/i);
    expect(text).toMatch(/2 orders; revenue 100\.00 USD/);
    expect(text).toContain('1 call sent an order again that is counted once (same order id: o-1 1x): kept on the timeline, not counted.');
    expect(text).toMatch(/AOV 50\.00 USD · CLV 100\.00 USD/);
    expect(text).toMatch(/R\d F\d M\d · churn risk \d+%/);
    expect(text).toContain('<script>alert(1)</script>');
    expect(dialogs).toEqual([]);
    await rig.screenshot(page, 'customer-360');
    await page.getByRole('link', { name: 'Identity' }).click();
    await expect(page.locator('svg[aria-label^="Identity graph"]').count()).resolves.toBe(1);
    // every label of a box ends inside it, as the browser lays the text out
    const overflowing = await page.locator('svg.graph g').evaluateAll((groups) =>
      groups.flatMap((g) => {
        const rect = g.querySelector('rect');
        if (!rect) return [];
        const right = rect.x.baseVal.value + rect.width.baseVal.value;
        return [...g.querySelectorAll('text')]
          .filter((t) => t.getBBox().x >= rect.x.baseVal.value && t.getBBox().x + t.getBBox().width > right)
          .map((t) => t.textContent);
      }),
    );
    expect(overflowing).toEqual([]);
    await expect(page.locator('svg.graph rect').count()).resolves.toBeGreaterThanOrEqual(3);
    await rig.screenshot(page, 'identity');
    await page.getByRole('link', { name: 'Privacy' }).click();
    await rig.screenshot(page, 'privacy');
    await page.close();
  });

  it('merges two customers by hand, then unmerges the merge with confirmation and a reason: two customers again', async () => {
    await rig.send('identify', { userId: 'm-1', traits: { email: 'm1@example.com' } });
    await rig.send('identify', { userId: 'm-2', traits: { email: 'm2@example.com' } });
    const [one, two] = [await rig.customerOf('email:m1@example.com'), await rig.customerOf('email:m2@example.com')];
    expect(one).not.toBe(two);
    const page = await rig.signedIn(TOKENS.admin);
    await page.goto(`${rig.url}/console/customers/${one}/identity`);
    await page.getByLabel('Customer id to merge in').fill(two!);
    await page.getByLabel('Reason').fill('same person, confirmed by phone');
    await page.getByRole('button', { name: 'Merge' }).click();
    // two user ids break the identity limit: the merge is refused unless forced
    expect(await shown(page.getByRole('heading', { level: 1 }))).toBe('Merge refused');
    expect(await shown(page.getByRole('alert'))).toMatch(/limit 1 would be exceeded/);
    // not a dead end: both customers, the review queue, and the form again with what was sent
    const onward = page.getByRole('navigation', { name: 'Where to go from here' });
    for (const id of [one!, two!])
      expect(await onward.getByRole('link', { name: `Customer ${id}` }).getAttribute('href')).toBe(`/console/customers/${id}/identity`);
    expect(await onward.getByRole('link', { name: 'Probable duplicates' }).getAttribute('href')).toBe('/console/matches');
    await rig.screenshot(page, 'merge-refused');
    expect(await page.getByLabel('Customer id to merge in').inputValue()).toBe(two);
    expect(await page.getByLabel('Reason').inputValue()).toBe('same person, confirmed by phone');
    expect(await page.getByLabel(/Force past identity limits/).isChecked()).toBe(false);
    await page.getByLabel(/Force past identity limits/).check();
    await page.getByRole('button', { name: 'Merge' }).click();
    await page.waitForURL(/\/identity$/);
    expect(await shown(page.locator('main'))).toMatch(/merged in by rule manual/);
    expect(await rig.customerOf('email:m2@example.com')).toBe(await rig.customerOf('email:m1@example.com'));
    await rig.screenshot(page, 'identity-merged');
    await page.getByRole('link', { name: 'Unmerge…' }).click();
    await page.getByLabel(/Reason/).fill('agent merged the wrong pair');
    await page.getByLabel('I confirm this unmerge').check();
    await page.getByRole('button', { name: 'Unmerge' }).click();
    const done = await shown(page.locator('main'));
    expect(done).toContain('two customers again');
    const [afterOne, afterTwo] = [await rig.customerOf('email:m1@example.com'), await rig.customerOf('email:m2@example.com')];
    expect(afterOne).toBeDefined();
    expect(afterTwo).toBeDefined();
    expect(afterOne).not.toBe(afterTwo);
    expect(done).toContain(afterOne!);
    expect(done).toContain(afterTwo!);
    await rig.screenshot(page, 'unmerge');
    await page.close();
  });

  it('erases behind a typed confirmation, ends on the receipt, and the customer is then gone from search', async () => {
    await rig.send('identify', { userId: 'gone-1', traits: { email: 'erase-me@example.com' } });
    const id = await rig.customerOf('email:erase-me@example.com');
    const page = await rig.signedIn(TOKENS.admin);
    await page.goto(`${rig.url}/console/customers/${id}/privacy`);
    // a wrong confirmation erases nothing
    await page.getByLabel('Customer id, typed to confirm').fill('not the id');
    await page.getByRole('button', { name: 'Erase this customer' }).click();
    expect(await shown(page.locator('main'))).toContain('type the customer id');
    expect(await rig.customerOf('email:erase-me@example.com')).toBe(id);
    expect(await page.getByLabel('Customer id, typed to confirm').inputValue()).toBe('not the id');
    // free text as the reason: the browser does not send the form
    await page.getByLabel('Customer id, typed to confirm').fill(id!);
    await page.getByLabel(/Reason code/).fill('asked by phone');
    await page.getByRole('button', { name: 'Erase this customer' }).click();
    expect(await page.getByLabel(/Reason code/).evaluate((el) => (el as unknown as { validity: { patternMismatch: boolean } }).validity.patternMismatch)).toBe(
      true,
    );
    expect(page.url()).toBe(`${rig.url}/console/customers/${id}/erase`);
    expect(await rig.customerOf('email:erase-me@example.com')).toBe(id);
    await page.getByLabel(/Reason code/).fill('art17-request');
    await page.getByRole('button', { name: 'Erase this customer' }).click();
    const receipt = await shown(page.locator('main'));
    expect(receipt).toContain('Erasure receipt');
    expect(receipt).toMatch(/Customers erased\s+\S*/);
    expect(receipt).toContain(id!);
    await rig.screenshot(page, 'erasure-receipt');
    await page.goto(`${rig.url}/console/search`);
    await page.getByLabel(/Identifier/).fill('email:erase-me@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    expect(await shown(page.locator('main'))).toContain('No customer found');
    expect(await rig.customerOf('email:erase-me@example.com')).toBeUndefined();
    await page.close();
  });

  it('offers on the privacy page only the restriction action that applies, beside the state it changes', async () => {
    await rig.send('identify', { userId: 'restrict-1', traits: { email: 'restrict-me@example.com' } });
    const id = await rig.customerOf('email:restrict-me@example.com');
    const page = await rig.signedIn(TOKENS.admin);
    await page.goto(`${rig.url}/console/customers/${id}/privacy`);
    const restrict = page.getByRole('button', { name: 'Restrict processing' });
    const lift = page.getByRole('button', { name: 'Lift the restriction' });
    const state = page.locator('main p[role="status"]').last();
    expect(await shown(state)).toBe('Processing is not restricted.');
    await expect(lift.count()).resolves.toBe(0);
    await restrict.click();
    await page.waitForURL(/\/privacy\?done=/);
    expect(await shown(page.locator('main'))).toContain('Done: processing restricted.');
    expect(await shown(state)).toMatch(/^Processing is restricted \(since \d{4}-/);
    await expect(restrict.count()).resolves.toBe(0);
    await rig.screenshot(page, 'privacy-restricted');
    await lift.click();
    await page.waitForURL(/\/privacy\?done=/);
    expect(await shown(page.locator('main'))).toContain('Done: processing no longer restricted.');
    expect(await shown(state)).toMatch(/^Processing is not restricted \(the restriction was lifted at \d{4}-/);
    await expect(lift.count()).resolves.toBe(0);
    await expect(restrict.count()).resolves.toBe(1);
    await page.close();
  });

  it('lists the quarantine by reason, shows a payload only on request, and replays it', async () => {
    const held = await rig.server.app.core.quarantine.hold(
      TENANT,
      'web',
      { type: 'identify', messageId: 'console-q-1', userId: 'late-1', traits: { email: 'late@example.com' } },
      { code: 'STORE_UNAVAILABLE', message: 'held while the store was down', issues: [] },
    );
    const page = await rig.signedIn(TOKENS.admin);
    await page.getByRole('link', { name: 'Quarantine' }).click();
    const list = await shown(page.locator('main'));
    expect(list).toContain('STORE_UNAVAILABLE');
    expect(list).toContain(held);
    expect(list).not.toContain('late@example.com');
    await page
      .getByRole('row', { name: new RegExp(held) })
      .getByRole('link', { name: 'Show payload' })
      .click();
    expect(await shown(page.locator('pre'))).toContain('late@example.com');
    await page.getByRole('button', { name: 'Replay' }).click();
    expect(await shown(page.locator('main'))).toMatch(/Replayed: accepted into customer/);
    await rig.screenshot(page, 'quarantine-replay');
    expect(await rig.customerOf('email:late@example.com')).toBeDefined();
    await page.close();
  });

  it('charts the analytics lake: the monthly revenue bars hold the month of two orders sent through the API', async () => {
    await rig.send('identify', { userId: 'lake-1', traits: { email: 'lake-1@example.com' } });
    await rig.send('identify', { userId: 'lake-2', traits: { email: 'lake-2@example.com' } });
    const march = (d: number) => new Date(Date.UTC(2026, 2, d, 12)).toISOString();
    await rig.send('track', {
      userId: 'lake-1',
      event: 'Order Completed',
      timestamp: march(5),
      properties: { order_id: 'lk-1', revenue: 70, currency: 'USD' },
    });
    await rig.send('track', {
      userId: 'lake-2',
      event: 'Order Completed',
      timestamp: march(20),
      properties: { order_id: 'lk-2', revenue: 30, currency: 'USD' },
    });
    // the server's lake projector follows the log every second: wait until the API sees the month
    const march2026 = async () => {
      const res = await fetch(`${rig.url}/v1/analytics/monthly-revenue`, { headers: { authorization: `Bearer ${TOKENS.reader}` } });
      const body = (await res.json()) as { rows: { year: number; month: number; revenue_minor: number }[] };
      return body.rows.find((r) => r.year === 2026 && r.month === 3)?.revenue_minor;
    };
    for (let i = 0; i < 60 && (await march2026()) !== 10_000; i++) await new Promise((r) => setTimeout(r, 500));
    expect(await march2026()).toBe(10_000);
    const page = await rig.signedIn(TOKENS.reader);
    await page.getByRole('link', { name: 'Analytics' }).click();
    await page.getByRole('link', { name: 'Monthly revenue' }).click();
    await page.waitForURL(`${rig.url}/console/analytics/monthly-revenue`);
    const chart = page.getByRole('img', { name: /^revenue per month in USD:/ });
    expect(await chart.getAttribute('aria-label')).toContain('2026-03 100');
    // drawn: the bars have a size as the browser lays them out, the March one among them
    const box = await chart.boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    const heights = await chart
      .locator('rect.bar')
      .evaluateAll((bars) => bars.map((b) => (b as unknown as { getBBox(): { height: number } }).getBBox().height));
    expect(heights.length).toBeGreaterThan(0);
    expect(Math.max(...heights)).toBeGreaterThan(10);
    await expect(chart.locator('rect.bar title', { hasText: '2026-03: 100' }).count()).resolves.toBe(1);
    expect(await shown(page.locator('table'))).toMatch(/2026\s+3\s+10000\s+2\s+2/);
    await rig.screenshot(page, 'analytics-monthly-revenue');
    await page.getByRole('link', { name: 'Channel funnel' }).click();
    await expect(page.getByRole('img', { name: /^conversion funnel of channel / }).count()).resolves.toBeGreaterThan(0);
    await rig.screenshot(page, 'analytics-channel-funnel');
    await page.close();
  });

  it("shows the review queue: each probable duplicate once, with its probability and each field's weight, and Accept and Reject for an admin", async () => {
    // generated people (originals only: their corrupted copies would fill the page), sent as a CRM sends them
    const seen = new Set<string>();
    const people = generatePeople({ seed: 11, people: 150 }).filter((p) => !seen.has(p.entity) && seen.add(p.entity));
    const traitsOf = (r: MatchRecord) => ({
      firstName: r.givenName,
      lastName: r.surname,
      birthday: r.dateOfBirth,
      email: r.email,
      address: { street: r.street, postalCode: r.postcode, city: r.city },
    });
    for (const [i, { record }] of people.entries()) await rig.send('identify', { userId: `dup-${i}`, traits: traitsOf(record) });
    // three of them typed again by another source: two letters swapped in a name, the email at another domain
    const swapped = (v = '') => `${v.slice(0, 2)}${v[3]}${v[2]}${v.slice(4)}`;
    const retyped = [4, 7, 15];
    for (const [n, i] of retyped.entries()) {
      const r = people[i]!.record;
      const change = n === 2 ? { surname: swapped(r.surname) } : { givenName: swapped(r.givenName) };
      await rig.send('identify', { anonymousId: `retyped-${i}`, traits: traitsOf({ ...r, ...change, email: r.email?.replace(/@.*/, '@other.example') }) });
    }
    const pairs = await Promise.all(
      retyped.map(async (i) => [await rig.customerOf(`user_id:dup-${i}`), await rig.customerOf(`anonymous_id:retyped-${i}`)] as const),
    );
    const page = await rig.signedIn(TOKENS.admin);
    await page.getByRole('link', { name: 'Duplicates' }).click();
    expect(await shown(page.getByRole('heading', { level: 1 }))).toBe('Probable duplicates');
    const text = await shown(page.locator('main'));
    for (const [a, b] of pairs) {
      expect(a).toBeDefined();
      expect(b).toBeDefined();
      const [x, y] = [a!, b!].sort();
      expect(text.split(`${x} ~ ${y}`).length - 1, 'each pair once').toBe(1);
    }
    expect(text).toMatch(/surname (exact|jaro_winkler\S*) \+\d+\.\d/);
    await expect(page.getByRole('button', { name: 'Accept' }).count()).resolves.toBeGreaterThanOrEqual(pairs.length);
    await rig.screenshot(page, 'matches');
    await page.close();
  });
});
