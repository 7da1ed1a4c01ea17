import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_RULES } from '../../../src/domain/identity/rules.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, asView, comparable, domainError, iso, TENANT, view360 } from './ingest-support.js';

// Identity through the whole core: merges by shared identifiers, their evidence, manual merges
// and unmerge (ingest use case, identity use cases and queries on in-memory adapters).

const HOUR = 3_600_000;

const send = async (h: Harness, call: Record<string, unknown>) => accepted(await h.core.ingest.ingest(TENANT, h.web, call));
const claimKey = (h: Harness, type: string, value: string) => h.ports.hasher.claimKey(TENANT, type, value);

describe('automatic merge through a shared email', () => {
  const setup = async () => {
    const h = makeHarness();
    const t = h.clock.now();
    // ingested first but observed later, so it is not the survivor
    const late = await send(h, { type: 'page', messageId: 'p-late', anonymousId: 'anon-late', name: 'Home', timestamp: iso(t + 2 * HOUR) });
    const early = await send(h, { type: 'page', messageId: 'p-early', anonymousId: 'anon-early', name: 'Deals', timestamp: iso(t + HOUR) });
    await send(h, { type: 'identify', messageId: 'id-late', anonymousId: 'anon-late', traits: { email: 'ada@example.com' }, timestamp: iso(t + 3 * HOUR) });
    const tie = await send(h, {
      type: 'identify',
      messageId: 'tie-1',
      anonymousId: 'anon-early',
      traits: { email: 'Ada@example.com' },
      timestamp: iso(t + 4 * HOUR),
    });
    return { h, late: late.customerId, early: early.customerId, tie };
  };

  it('merges into the customer observed first and redirects the absorbed id', async () => {
    const { h, late, early, tie } = await setup();
    expect(late).not.toBe(early);
    expect(tie).toMatchObject({ customerId: early, merged: [late], created: false });
    expect(await h.core.queries.get360(TENANT, late)).toEqual({ kind: 'redirect', survivorId: early });
    const v = await view360(h, early);
    expect(v.aliases).toEqual([late]);
    expect(v.identifiers.map((i) => i.value)).toEqual(['anon-early', 'anon-late', 'ada@example.com']);
    expect(v.timeline.map((e) => e.title)).toEqual(expect.arrayContaining(['Viewed page Home', 'Viewed page Deals']));
  });

  it("names each identifier's claim key, so the merge evidence's keys read as values", async () => {
    const { h, early } = await setup();
    const why = await h.core.queries.explain(TENANT, early);
    if (why.status !== 'active') throw new Error('expected an active customer');
    const shown = new Map(why.identifiers.map((i) => [i.key, `${i.type}:${i.value}`]));
    expect(why.merges[0]!.evidence.identifiers.map((i) => shown.get(i.key)).sort()).toEqual(['anonymous_id:anon-early', 'email:ada@example.com']);
  });

  it('finds the survivor by either anonymous id', async () => {
    const { h, early } = await setup();
    for (const anon of ['anon-late', 'anon-early']) {
      expect(asView(await h.core.queries.findByIdentifier(TENANT, 'anonymous_id', anon)).customerId).toBe(early);
    }
  });

  it('explains the merge with its rule, triggering message and identifiers', async () => {
    const { h, late, early } = await setup();
    const why = await h.core.queries.explain(TENANT, early);
    expect(why.status).toBe('active');
    if (why.status !== 'active') return;
    expect(why.members).toEqual([late]);
    expect(why.merges).toHaveLength(1);
    expect(why.merges[0]).toMatchObject({ absorbedId: late, evidence: { rule: 'shared-identifier', triggeringEventId: 'tie-1', forced: false } });
    expect(why.merges[0]!.evidence.identifiers).toEqual(
      expect.arrayContaining([
        { type: 'anonymous_id', key: claimKey(h, 'anonymous_id', 'anon-early') },
        { type: 'email', key: claimKey(h, 'email', 'ada@example.com') },
      ]),
    );
    expect(await h.core.queries.explain(TENANT, late)).toEqual({ customerId: late, status: 'merged', survivorId: early });
  });
});

describe('manual merge', () => {
  it('is refused when it would give a customer two user ids, unless forced and recorded as forced', async () => {
    const h = makeHarness();
    const a = await send(h, { type: 'identify', messageId: 'a', userId: 'u-1', anonymousId: 'anon-a' });
    h.clock.advance(1000);
    const b = await send(h, { type: 'identify', messageId: 'b', userId: 'u-2', anonymousId: 'anon-b' });
    const refused = await domainError(h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops@acme' }));
    expect(refused.code).toBe('IDENTIFIER_LIMIT_EXCEEDED');
    expect(refused.path).toEqual(['force']);
    expect((await view360(h, b.customerId)).customerId).toBe(b.customerId);

    const forced = await h.core.identity.merge(TENANT, b.customerId, a.customerId, { actor: 'ops@acme', reason: 'same person', force: true });
    expect(forced).toMatchObject({ survivorId: a.customerId, absorbedId: b.customerId, forced: true });
    const why = await h.core.queries.explain(TENANT, a.customerId);
    expect(why.status === 'active' && why.merges[0]?.evidence).toMatchObject({ rule: 'manual', forced: true, actor: 'ops@acme', reason: 'same person' });
  });

  it("a forced merge over a do-not-link keeps neither customer on the cluster's do-not-link list (it listed the survivor itself), and an unmerge puts it back", async () => {
    const h = makeHarness();
    const a = await send(h, { type: 'identify', messageId: 'a', userId: 'u-1' });
    h.clock.advance(1000);
    const b = await send(h, { type: 'identify', messageId: 'b', anonymousId: 'anon-b' });
    const first = await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops' });
    await h.core.identity.unmerge(TENANT, first.survivorId, first.mergeId, { actor: 'ops' });
    const apart = await h.core.queries.explain(TENANT, a.customerId);
    expect(apart.status === 'active' && apart.doNotLink).toEqual([b.customerId]);
    const again = await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops', force: true });
    const merged = await h.core.queries.explain(TENANT, a.customerId);
    expect(merged.status === 'active' && merged.doNotLink).toEqual([]);
    // folded in place (a rebuild) as by evolve: the same state
    expect((await h.core.repo.load(TENANT, a.customerId)).doNotLink).toEqual(new Set());
    await h.core.identity.unmerge(TENANT, again.survivorId, again.mergeId, { actor: 'ops' });
    const apartAgain = await h.core.queries.explain(TENANT, a.customerId);
    expect(apartAgain.status === 'active' && apartAgain.doNotLink).toEqual([b.customerId]);
  });

  it('keeps the reasons of a manual merge and of its unmerge encrypted with the survivor, readable through explain and the export until erasure', async () => {
    const h = makeHarness();
    const a = await send(h, { type: 'identify', messageId: 'a', userId: 'u-1', traits: { email: 'jane.roe@example.com' } });
    h.clock.advance(1000);
    const b = await send(h, { type: 'identify', messageId: 'b', anonymousId: 'anon-2' });
    const mergeReason = 'Jane Roe phoned from +1 202 555 0143, jane.roe@example.com';
    const unmergeReason = 'Jane Roe wrote again: not her device, jane.roe@example.com';
    const merged = await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops@acme', reason: mergeReason });
    const why = await h.core.queries.explain(TENANT, a.customerId);
    expect(why.status === 'active' && why.merges[0]?.evidence).toMatchObject({ rule: 'manual', actor: 'ops@acme', reason: mergeReason });
    await h.core.identity.unmerge(TENANT, merged.survivorId, merged.mergeId, { actor: 'ops@acme', reason: unmergeReason });
    const after = await h.core.queries.explain(TENANT, a.customerId);
    expect(after.status === 'active' && after.unmerges).toEqual([
      { mergeId: merged.mergeId, restoredId: b.customerId, at: expect.any(String), actor: 'ops@acme', reason: unmergeReason },
    ]);
    // in the log, neither reason is readable: the events hold them only as ciphertext
    const stored = await h.ports.store.readStream(TENANT, a.customerId);
    const operations = stored.filter((e) => e.type === 'CustomerMerged' || e.type === 'CustomerUnmerged');
    expect(operations.map((e) => e.type)).toEqual(['CustomerMerged', 'CustomerUnmerged']);
    for (const e of operations) expect(e.pii).toBeDefined();
    expect(JSON.stringify(stored)).not.toMatch(/jane roe|jane\.roe@|202 555/i);
    // the access export reads them decrypted
    const doc = JSON.stringify(await h.core.export.export(TENANT, a.customerId, { actor: 'dpo' }));
    expect(doc).toContain(mergeReason);
    expect(doc).toContain(unmergeReason);
    // the audit log names the operations, never their reasons
    expect(JSON.stringify(await h.ports.audit.list(TENANT, { limit: 100 }))).not.toMatch(/jane roe|jane\.roe@/i);
    // erased: the key is gone, and nothing reads them any more
    await h.core.gdpr.erase(TENANT, a.customerId, { actor: 'dpo' });
    const key = await h.ports.keys.get(TENANT, a.customerId);
    const decoded = h.core.codec.decodeStream(await h.ports.store.readStream(TENANT, a.customerId), key);
    expect(JSON.stringify(decoded)).not.toMatch(/jane roe|jane\.roe@|202 555/i);
  });

  it('refuses to merge a customer with itself', async () => {
    const h = makeHarness();
    const a = await send(h, { type: 'identify', messageId: 'a', userId: 'u-1' });
    expect((await domainError(h.core.identity.merge(TENANT, a.customerId, a.customerId, { actor: 'ops' }))).code).toBe('MERGE_SAME_CUSTOMER');
  });
});

describe('unmerge', () => {
  const twoCustomers = async () => {
    const h = makeHarness();
    const a = await send(h, { type: 'identify', messageId: 'a1', anonymousId: 'anon-a', traits: { email: 'a@example.com', plan: 'pro' } });
    await send(h, { type: 'page', messageId: 'a2', anonymousId: 'anon-a', name: 'Home' });
    h.clock.advance(HOUR);
    const b = await send(h, { type: 'identify', messageId: 'b1', anonymousId: 'anon-b', traits: { email: 'b@example.com', plan: 'free' } });
    await send(h, { type: 'track', messageId: 'b2', anonymousId: 'anon-b', event: 'Order Completed', properties: { revenue: 10 } });
    return { h, a: a.customerId, b: b.customerId };
  };

  it('restores both views exactly after a merge', async () => {
    const { h, a, b } = await twoCustomers();
    const before = [comparable(await view360(h, a)), comparable(await view360(h, b))];
    const merge = await h.core.identity.merge(TENANT, a, b, { actor: 'ops' });
    expect(await h.core.queries.get360(TENANT, b)).toEqual({ kind: 'redirect', survivorId: a });
    expect((await view360(h, a)).orders.count).toBe(1);

    await h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops' });
    expect([comparable(await view360(h, a)), comparable(await view360(h, b))]).toEqual(before);
  });

  it('marks the pair do-not-link so the same identifiers do not merge them again', async () => {
    const { h, a, b } = await twoCustomers();
    const merge = await h.core.identity.merge(TENANT, a, b, { actor: 'ops' });
    await h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops' });
    const again = await send(h, { type: 'identify', messageId: 'tie', anonymousId: 'anon-a', traits: { email: 'b@example.com' } });
    expect(again.merged).toEqual([]);
    expect(again.rejected.map((r) => r.reason)).toContain('DO_NOT_LINK');
    expect((await view360(h, a)).customerId).toBe(a);
    expect((await view360(h, b)).customerId).toBe(b);
  });

  it('gives events that arrived after the merge back by the identifiers they carry', async () => {
    const h = makeHarness();
    const a = await send(h, { type: 'identify', messageId: 'a1', anonymousId: 'anon-a', traits: { email: 'ada@example.com' } });
    h.clock.advance(HOUR);
    const b = await send(h, { type: 'page', messageId: 'b1', anonymousId: 'anon-b', name: 'Home' });
    h.clock.advance(HOUR);
    const tie = await send(h, { type: 'identify', messageId: 'tie', anonymousId: 'anon-b', traits: { email: 'ada@example.com', plan: 'pro' } });
    expect(tie.merged).toEqual([b.customerId]);
    h.clock.advance(HOUR);
    await send(h, { type: 'track', messageId: 'b-only', anonymousId: 'anon-b', event: 'Wishlist Opened' });
    await send(h, { type: 'identify', messageId: 'b-new-email', anonymousId: 'anon-b', traits: { email: 'bob@example.com' } });
    await send(h, { type: 'track', messageId: 'a-only', anonymousId: 'anon-a', event: 'Coupon Applied' });

    const why = await h.core.queries.explain(TENANT, a.customerId);
    const mergeId = why.status === 'active' ? why.merges[0]!.mergeId : '';
    const undone = await h.core.identity.unmerge(TENANT, a.customerId, mergeId, { actor: 'ops' });
    expect(undone).toMatchObject({ restoredId: b.customerId, transferredIdentifiers: 1 });

    const [va, vb] = [await view360(h, a.customerId), await view360(h, b.customerId)];
    const titles = (v: typeof va) => v.timeline.map((t) => t.title);
    expect(titles(vb)).toEqual(expect.arrayContaining(['Wishlist Opened', 'Viewed page Home']));
    expect(titles(va)).not.toContain('Wishlist Opened');
    expect(titles(va)).toContain('Coupon Applied');
    // the tying call carried both sides' identifiers, so its facts stay with the survivor
    expect(va.traits.plan?.value).toBe('pro');
    expect(asView(await h.core.queries.findByIdentifier(TENANT, 'email', 'bob@example.com')).customerId).toBe(b.customerId);
    expect(asView(await h.core.queries.findByIdentifier(TENANT, 'anonymous_id', 'anon-b')).customerId).toBe(b.customerId);
    expect(vb.identifiers.map((i) => i.value)).toEqual(['anon-b', 'bob@example.com']);
  });

  it('sent to the absorbed id, is refused naming the survivor to send it to', async () => {
    const { h, a, b } = await twoCustomers();
    const merge = await h.core.identity.merge(TENANT, a, b, { actor: 'ops' });
    const e = await domainError(h.core.identity.unmerge(TENANT, b, merge.mergeId, { actor: 'ops' }));
    expect(e.code).toBe('MERGE_NOT_UNDOABLE');
    expect(e.message).toBe(`customer ${b} was merged into ${a}, which holds its merges: send the unmerge to the survivor, POST /v1/customers/${a}/unmerge`);
    expect(e.details).toEqual({ survivorId: a });
    // sent there, it is undone
    await h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops' });
    expect((await view360(h, b)).customerId).toBe(b);
  });

  it('refuses to undo a merge already undone, saying when and which customer it gave back; a retry of that unmerge answers it again', async () => {
    const { h, a, b } = await twoCustomers();
    const merge = await h.core.identity.merge(TENANT, a, b, { actor: 'ops' });
    const first = await h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops', operationId: 'op-u1' });
    expect(first).toMatchObject({ restoredId: b, duplicate: false });
    // another operation: the merge exists and was undone, so not "no merge", but "already undone"
    const e = await domainError(h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops', operationId: 'op-u2' }));
    expect(e.code).toBe('MERGE_NOT_UNDOABLE');
    expect(e.message).toMatch(
      new RegExp(`^merge ${merge.mergeId} of customer ${a} was already undone at \\d{4}-\\d\\d-\\d\\dT[^ ]+Z: customer ${b} is separate again`),
    );
    expect(e.path).toEqual(['mergeId']);
    expect(e.details).toEqual({ restoredId: b, undoneAt: expect.any(String) });
    // the same operation again: the duplicate answer, as before
    expect(await h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops', operationId: 'op-u1' })).toMatchObject({
      restoredId: b,
      duplicate: true,
    });
  });

  it('refuses an unknown merge id', async () => {
    const { h, a } = await twoCustomers();
    expect((await domainError(h.core.identity.unmerge(TENANT, a, 'no-such-merge', { actor: 'ops' }))).code).toBe('MERGE_NOT_FOUND');
  });
});

describe('a merge nested inside an absorbed customer', () => {
  // x absorbs y (m1), then w absorbs x and with it y (m2): m1 is held by x, inside w's cluster
  const nested = async () => {
    const h = makeHarness();
    const w = (await send(h, { type: 'identify', messageId: 'n-w', anonymousId: 'nest-w', traits: { email: 'w@n.test' } })).customerId;
    h.clock.advance(HOUR);
    const x = (await send(h, { type: 'identify', messageId: 'n-x', anonymousId: 'nest-x', traits: { email: 'x@n.test' } })).customerId;
    h.clock.advance(HOUR);
    const y = (await send(h, { type: 'identify', messageId: 'n-y', anonymousId: 'nest-y', traits: { email: 'y@n.test' } })).customerId;
    const m1 = await h.core.identity.merge(TENANT, x, y, { actor: 'ops', reason: 'same person' });
    const m2 = await h.core.identity.merge(TENANT, w, x, { actor: 'ops' });
    expect([m1.survivorId, m2.survivorId]).toEqual([x, w]);
    return { h, w, x, y, m1: m1.mergeId, m2: m2.mergeId };
  };

  it('sent to the survivor or to its holder, is refused naming the holder and the outer merge to undo first (no answer sends back to the other)', async () => {
    const { h, w, x, y, m1, m2 } = await nested();
    for (const at of [w, x]) {
      const e = await domainError(h.core.identity.unmerge(TENANT, at, m1, { actor: 'ops' }));
      expect(e.code).toBe('MERGE_NOT_UNDOABLE');
      expect(e.path).toEqual(['mergeId']);
      expect(e.details).toEqual({ holderId: x, absorbedId: y, undoFirst: [{ mergeId: m2, survivorId: w }] });
      expect(e.message).toContain(`customer ${x} holds it (it absorbed ${y})`);
      expect(e.message).toContain(`Undo merge ${m2} on customer ${w} first (POST /v1/customers/${w}/unmerge), then send this one to customer ${x}`);
    }
    // following the advice separates y
    await h.core.identity.unmerge(TENANT, w, m2, { actor: 'ops' });
    await h.core.identity.unmerge(TENANT, x, m1, { actor: 'ops' });
    expect((await view360(h, y)).customerId).toBe(y);
    expect((await view360(h, x)).customerId).toBe(x);
  });

  it('names every outer merge, outermost first, when nested twice', async () => {
    const { h, w, x, y, m1, m2 } = await nested();
    h.clock.advance(-10 * HOUR);
    const v = (await send(h, { type: 'identify', messageId: 'n-v', anonymousId: 'nest-v', traits: { email: 'v@n.test' } })).customerId;
    const m3 = await h.core.identity.merge(TENANT, v, w, { actor: 'ops' });
    expect(m3.survivorId).toBe(v);
    const e = await domainError(h.core.identity.unmerge(TENANT, v, m1, { actor: 'ops' }));
    expect(e.details).toEqual({
      holderId: x,
      absorbedId: y,
      undoFirst: [
        { mergeId: m3.mergeId, survivorId: v },
        { mergeId: m2, survivorId: w },
      ],
    });
    // w's merge m2 is nested too, now
    expect((await domainError(h.core.identity.unmerge(TENANT, w, m2, { actor: 'ops' }))).details).toMatchObject({ holderId: w, absorbedId: x });
  });

  it('is shown by explain with its own rule, actor, reason and holder', async () => {
    const { h, w, x, y, m1, m2 } = await nested();
    const why = await h.core.queries.explain(TENANT, w);
    if (why.status !== 'active') throw new Error('expected an active customer');
    expect(why.merges.map((m) => m.mergeId)).toEqual([m2]);
    expect(why.nestedMerges).toEqual([
      {
        mergeId: m1,
        heldBy: x,
        absorbedId: y,
        absorbedMembers: [],
        at: expect.any(String),
        evidence: expect.objectContaining({ rule: 'manual', actor: 'ops', reason: 'same person', forced: false }),
        undoFirst: [{ mergeId: m2, survivorId: w }],
      },
    ]);
  });
});

describe('Segment alias whose previousId is an earlier user id', () => {
  it('is taken as that user id, not made into an anonymous id; the user_id limit refuses it and explain shows the rejection', async () => {
    const h = makeHarness();
    const k1 = (await send(h, { type: 'identify', messageId: 'k1', anonymousId: 'kiosk-1', userId: 'k-1', traits: { email: 'k1@kiosk.test' } })).customerId;
    const k3 = (await send(h, { type: 'identify', messageId: 'k3', userId: 'k-3', traits: { email: 'k3@kiosk.test' } })).customerId;
    const alias = await send(h, { type: 'alias', messageId: 'k-alias', previousId: 'k-1', userId: 'k-3' });
    // the call's own userId is kept: the previous user id gives way on the limit
    expect(alias.customerId).toBe(k3);
    const v3 = await view360(h, k3);
    expect(v3.identifiers.map((i) => [i.type, i.value])).toEqual([
      ['email', 'k3@kiosk.test'],
      ['user_id', 'k-3'],
    ]);
    const why = await h.core.queries.explain(TENANT, k3);
    if (why.status !== 'active') throw new Error('expected an active customer');
    expect(why.rejections).toEqual([expect.objectContaining({ type: 'user_id', value: 'k-1', reason: 'IDENTIFIER_LIMIT_EXCEEDED' })]);
    // no made-up anonymous id: a later visitor whose anonymous id is "k-1" is someone new
    await expect(h.core.queries.findByIdentifier(TENANT, 'anonymous_id', 'k-1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
    expect(asView(await h.core.queries.findByIdentifier(TENANT, 'user_id', 'k-1')).customerId).toBe(k1);
  });

  it('links the two when the rules allow two user ids per customer', async () => {
    const h = makeHarness({
      identityRules: { ...DEFAULT_IDENTITY_RULES, types: { ...DEFAULT_IDENTITY_RULES.types, user_id: { limit: 2, priority: 100 } } },
    });
    const k1 = (await send(h, { type: 'identify', messageId: 'k1', userId: 'k-1' })).customerId;
    h.clock.advance(HOUR);
    const k3 = (await send(h, { type: 'identify', messageId: 'k3', userId: 'k-3' })).customerId;
    const alias = await send(h, { type: 'alias', messageId: 'k-alias', previousId: 'k-1', userId: 'k-3' });
    expect(alias).toMatchObject({ customerId: k1, merged: [k3] });
  });

  it('is an anonymous id when no customer holds it as a user id (the usual alias of a visitor)', async () => {
    const h = makeHarness();
    const anon = (await send(h, { type: 'page', messageId: 'p1', anonymousId: 'visitor-1', name: 'Home' })).customerId;
    const alias = await send(h, { type: 'alias', messageId: 'a1', previousId: 'visitor-1', userId: 'u-1' });
    expect(alias.customerId).toBe(anon);
    expect((await view360(h, anon)).identifiers.map((i) => [i.type, i.value])).toEqual([
      ['anonymous_id', 'visitor-1'],
      ['user_id', 'u-1'],
    ]);
  });
});

describe('an email in a wrapper or holding junk', () => {
  it('is rejected as IDENTIFIER_INVALID (shown by explain) and links nothing; the call is kept on its other identifiers', async () => {
    const h = makeHarness();
    const zed = (await send(h, { type: 'identify', messageId: 'z1', anonymousId: 'zed-1', traits: { email: 'zed.person@example.com' } })).customerId;
    for (const [i, email] of [
      'mailto:zed.person@example.com',
      '<zed.person@example.com>',
      'zed.person@example.com.',
      'xss"><svg/onload=alert(3)>@evil.test',
    ].entries()) {
      const c = await send(h, { type: 'identify', messageId: `w${i}`, anonymousId: `wrapped-${i}`, traits: { email } });
      expect(c.customerId, email).not.toBe(zed);
      const why = await h.core.queries.explain(TENANT, c.customerId);
      if (why.status !== 'active') throw new Error('expected an active customer');
      expect(why.identifiers.map((x) => x.type)).toEqual(['anonymous_id']);
      expect(why.rejections).toEqual([expect.objectContaining({ type: 'email', reason: 'IDENTIFIER_INVALID' })]);
    }
  });
});

describe('a phone number with an extension', () => {
  it('is the identifier of the line without its extension (the same key as the bare number); the phone trait keeps the extension as sent', async () => {
    const h = makeHarness({ phoneRegion: 'GB' });
    const desk = (await send(h, { type: 'identify', messageId: 'd0', anonymousId: 'desk-0', traits: { phone: '+442079460958' } })).customerId;
    for (const [i, phone] of ['+44 20 7946 0958 ext. 12', '+442079460958;ext=5', '020 7946 0958 x7'].entries()) {
      h.clock.advance(HOUR);
      const c = await send(h, { type: 'identify', messageId: `d${i + 1}`, anonymousId: `desk-${i + 1}`, traits: { phone } });
      expect(c.customerId, phone).toBe(desk);
      const v = await view360(h, desk);
      expect(v.traits.phone?.value).toBe(phone);
      expect(v.identifiers.filter((x) => x.type === 'phone').map((x) => x.value)).toEqual(['+442079460958']);
    }
  });
});

describe('a trait whose identifier was refused', () => {
  it("after an unmerge, an email refused as the other customer's (DO_NOT_LINK) still sets the trait, flagged in traitsNotHeld; lookups give the other", async () => {
    const h = makeHarness();
    const a = (await send(h, { type: 'identify', messageId: 'ma', userId: 'm-a', traits: { email: 'a@merge.test' } })).customerId;
    h.clock.advance(HOUR);
    const b = (await send(h, { type: 'identify', messageId: 'mb', anonymousId: 'm-b', traits: { email: 'b@merge.test' } })).customerId;
    const merge = await h.core.identity.merge(TENANT, a, b, { actor: 'ops' });
    await h.core.identity.unmerge(TENANT, a, merge.mergeId, { actor: 'ops' });
    expect((await view360(h, a)).traitsNotHeld).toEqual([]);
    h.clock.advance(HOUR);
    await send(h, { type: 'identify', messageId: 'ma2', userId: 'm-a', traits: { email: 'B@merge.test', phone: '+1 415 555 2671' } });
    const va = await view360(h, a);
    expect(va.traits.email?.value).toBe('B@merge.test');
    expect(va.traitsNotHeld).toEqual(['email']);
    const why = await h.core.queries.explain(TENANT, a);
    if (why.status !== 'active') throw new Error('expected an active customer');
    expect(why.rejections).toEqual([expect.objectContaining({ type: 'email', value: 'b@merge.test', reason: 'DO_NOT_LINK' })]);
    expect(asView(await h.core.queries.findByIdentifier(TENANT, 'email', 'b@merge.test')).customerId).toBe(b);
    // set again to one of its own, the flag goes
    h.clock.advance(HOUR);
    await send(h, { type: 'identify', messageId: 'ma3', userId: 'm-a', traits: { email: 'a@merge.test' } });
    expect((await view360(h, a)).traitsNotHeld).toEqual([]);
  });

  it('flags a phone or email refused as blocked or invalid, and one a second identified user shares (over the user_id limit)', async () => {
    const h = makeHarness();
    await send(h, { type: 'identify', messageId: 'f1', userId: 'fam-1', traits: { email: 'smiths@family.test' } });
    const fam2 = (await send(h, { type: 'identify', messageId: 'f2', userId: 'fam-2', traits: { email: 'smiths@family.test', phone: '000000' } })).customerId;
    expect((await view360(h, fam2)).traitsNotHeld).toEqual(['email', 'phone']);
  });
});
