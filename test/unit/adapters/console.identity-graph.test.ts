import { describe, expect, it } from 'vitest';
import { CONSOLE_CSS } from '../../../src/adapters/http/console/console.css.js';
import { CHAR_PX, cells, type Explanation, IdentityGraph, IdentityPage } from '../../../src/adapters/http/console/identity.page.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, TENANT } from '../application/ingest-support.js';

// The identity graph's labels stay inside their boxes however long an id or an identifier is:
// cut with an ellipsis, the full text kept in a <title> a browser shows on hover.

const send = async (h: Harness, call: Record<string, unknown>) => accepted(await h.core.ingest.ingest(TENANT, h.web, call));

const explained = async (): Promise<Explanation> => {
  const h = makeHarness();
  const local = `a-very-long-mailbox-name-${'x'.repeat(60)}`;
  const a = await send(h, { type: 'identify', messageId: 'g-1', anonymousId: 'anon-g1', traits: { email: `${local}@example.com` } });
  await send(h, { type: 'identify', messageId: 'g-2', anonymousId: 'anon-g2', traits: { phone: '+44 20 7946 0958' } });
  await send(h, { type: 'identify', messageId: 'g-3', anonymousId: 'anon-g2', traits: { email: `${local}@example.com` } });
  const x = await h.core.queries.explain(TENANT, a.customerId);
  if (x.status !== 'active') throw new Error(`expected an active customer, got ${x.status}`);
  expect(x.members.length).toBe(1);
  return x;
};

type Box = { x: number; width: number };
type Label = { x: number; shown: string; title: string | undefined };

/** each <g> of the SVG: its box (a rect, if any) and its labels (the text shown, and the <title> inside the text) */
const groups = (svg: string) =>
  [...svg.matchAll(/<g>([\s\S]*?)<\/g>/g)].map(([, g]) => {
    const rect = /<rect[^>]* x="([\d.]+)"[^>]* width="([\d.]+)"/.exec(g!);
    const labels = [...g!.matchAll(/<text x="([\d.]+)"[^>]*>(?:<title>([^<]*)<\/title>)?([^<]*)<\/text>/g)].map(
      ([, x, title, shown]): Label => ({ x: Number(x), shown: shown!, title }),
    );
    return { box: rect ? ({ x: Number(rect[1]), width: Number(rect[2]) } satisfies Box) : undefined, labels };
  });

const htmlText = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

describe('the identity graph', () => {
  it('fits the survivor, the member and a long identifier inside their boxes, the full text in a <title>', async () => {
    const real = await explained();
    // an id as long as any store could make one, and a survivor label that overflowed before
    const longId = `customer-${'0123456789'.repeat(8)}`;
    const x: Explanation = {
      ...real,
      customerId: longId,
      identifiers: real.identifiers.map((i) => (i.claimedBy === real.customerId ? { ...i, claimedBy: longId } : i)),
    };
    const svg = String(await IdentityGraph({ x }).toString());
    const boxed = groups(svg).filter((g) => g.box);
    expect(boxed.length).toBe(2 + x.identifiers.length);
    let cut = 0;
    for (const { box, labels } of boxed) {
      const inside = labels.filter((l) => l.x >= box!.x);
      expect(inside.length).toBeGreaterThanOrEqual(1);
      for (const l of inside) {
        const shown = htmlText(l.shown);
        expect(l.x + cells(shown) * CHAR_PX, shown).toBeLessThanOrEqual(box!.x + box!.width);
        if (l.title !== undefined) {
          cut++;
          const full = htmlText(l.title);
          expect(shown.endsWith('…'), shown).toBe(true);
          expect(full.startsWith(shown.slice(0, -1)), full).toBe(true);
          expect(full.length).toBeGreaterThan(shown.length);
        }
      }
    }
    // the long id and the long email are cut and kept whole in their titles
    expect(svg).toContain(`<title>${longId}</title>`);
    expect(svg).toMatch(/<title>email: a-very-long-mailbox-name-x+@example\.com<\/title>/);
    expect(cut).toBe(2);
    // a short label is shown whole, with no title of its own
    const member = x.members[0]!;
    expect(svg).toContain(`>${member}</text>`);
    expect(svg).not.toContain(`<title>${member}</title>`);
    expect(svg).toContain('>survivor</text>');
  });

  it("draws a member merged in by a nested merge from the member that holds it, labelled with that merge's rule", async () => {
    const h = makeHarness();
    const w = (await send(h, { type: 'identify', messageId: 'n-w', anonymousId: 'nest-w' })).customerId;
    h.clock.advance(1000);
    const x = (await send(h, { type: 'identify', messageId: 'n-x', anonymousId: 'nest-x' })).customerId;
    h.clock.advance(1000);
    const y = (await send(h, { type: 'identify', messageId: 'n-y', anonymousId: 'nest-y', traits: { email: 'y@n.test' } })).customerId;
    await send(h, { type: 'identify', messageId: 'n-y2', anonymousId: 'nest-x', traits: { email: 'y@n.test' } });
    await h.core.identity.merge(TENANT, w, x, { actor: 'ops' });
    const explainedW = await h.core.queries.explain(TENANT, w);
    if (explainedW.status !== 'active') throw new Error('expected an active customer');
    expect(explainedW.members).toEqual([x, y]);
    const svg = String(await IdentityGraph({ x: explainedW }).toString());
    // rows: w at 30, x at 76, y at 122; y's edge starts at x, not at the survivor
    expect(svg).toContain('d="M 20 30 C 0 30, 0 76, 20 76"');
    expect(svg).toContain('d="M 20 76 C 0 76, 0 122, 20 122"');
    expect(svg).toContain('>merged: manual</text>');
    expect(svg).toContain(`>merged into …${x.slice(-8)}: shared-identifier</text>`);
    // the Merges table: the survivor's own merge with its evidence and an Unmerge link, the nested one
    // with its own rule and holder, the merge to undo first and no Unmerge link
    const admin = { id: 'ops', tenant: TENANT, scopes: new Set(['admin'] as const), source: 'operator:ops', rateLimitPerSecond: 10 };
    const html = String(await IdentityPage({ x: explainedW, viewer: admin, csrf: 't' }).toString());
    const [outer, nested] = [explainedW.merges[0]!, explainedW.nestedMerges[0]!];
    expect(html).toContain(`<code>${x}</code> merged in by rule <strong>manual</strong>, by ops; shared`);
    expect(html).toContain(`unmerge?mergeId=${outer.mergeId}`);
    expect(html).toContain(`<code>${y}</code> merged into <code>${x}</code> by rule <strong>shared-identifier</strong>, event <code>`);
    expect(html).toContain(`nested: undo merge ${outer.mergeId} on ${w} first`);
    expect(html).not.toContain(`unmerge?mergeId=${nested.mergeId}`);
  });

  it('draws its text in the monospace font the width of a label is counted in', () => {
    expect(CONSOLE_CSS).toMatch(/svg\.graph text \{ font: 11px [^;]*monospace; \}/);
    expect(CHAR_PX).toBeGreaterThanOrEqual(0.62 * 11);
  });
});
