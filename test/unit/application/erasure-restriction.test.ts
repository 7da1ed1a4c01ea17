import { describe, expect, it } from 'vitest';
import { makeHarness } from '../../support/harness.js';
import { accepted, domainError, TENANT } from './ingest-support.js';

// Restriction of processing (GDPR art. 18): a freeze on the cluster's survivor, shown on the view,
// idempotent, audited; the data stays and keeps arriving.

const setup = async () => {
  const h = makeHarness();
  const a = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm1', userId: 'u-1', traits: { email: 'r@example.com' } }));
  accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'track', messageId: 'm2', anonymousId: 'anon-r', event: 'Seen' }));
  const merged = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'track', messageId: 'm3', userId: 'u-1', anonymousId: 'anon-r', event: 'Linked' }));
  return { h, survivor: a.customerId, absorbed: merged.merged[0]! };
};

const restrictedOnView = async (h: ReturnType<typeof makeHarness>, id: string) => {
  const doc = await h.ports.readModels.get(TENANT, id);
  if (doc?.kind !== 'view') throw new Error(`no view for ${id}`);
  return doc.view.restricted;
};

describe('restriction of processing', () => {
  it('restricts the survivor (also when named by an absorbed id), shows it on the view, and audits it', async () => {
    const { h, survivor, absorbed } = await setup();
    expect(await restrictedOnView(h, survivor)).toBe(false);
    const out = await h.core.gdpr.restrict(TENANT, absorbed, { actor: 'dpo', reason: 'objection' });
    expect(out).toMatchObject({ customerId: survivor, restricted: true, changed: true });
    expect(await restrictedOnView(h, survivor)).toBe(true);
    const audit = await h.ports.audit.list(TENANT, { limit: 10 });
    expect(audit.entries).toEqual([
      expect.objectContaining({ action: 'customer.restrict', customerId: survivor, actor: 'dpo', detail: { changed: true, reason: 'objection' } }),
    ]);
  });

  it('records no event when already so, and lifts once; the audit keeps every request, saying whether it changed anything', async () => {
    const { h, survivor } = await setup();
    await h.core.gdpr.restrict(TENANT, survivor, { actor: 'dpo' });
    const events = (await h.ports.store.readStream(TENANT, survivor)).length;
    h.clock.advance(1000); // audit ids are time-ordered
    expect(await h.core.gdpr.restrict(TENANT, survivor, { actor: 'other' })).toMatchObject({ restricted: true, changed: false });
    expect(await h.ports.store.readStream(TENANT, survivor)).toHaveLength(events);
    h.clock.advance(1000);
    expect(await h.core.gdpr.unrestrict(TENANT, survivor, { actor: 'dpo' })).toMatchObject({ restricted: false, changed: true });
    h.clock.advance(1000);
    expect(await h.core.gdpr.unrestrict(TENANT, survivor, { actor: 'dpo' })).toMatchObject({ restricted: false, changed: false });
    expect(await restrictedOnView(h, survivor)).toBe(false);
    expect((await h.ports.audit.list(TENANT, { limit: 10 })).entries.map((e) => [e.action, e.actor, e.detail?.changed])).toEqual([
      ['customer.restrict', 'dpo', true],
      ['customer.restrict', 'other', false],
      ['customer.unrestrict', 'dpo', true],
      ['customer.unrestrict', 'dpo', false],
    ]);
  });

  it('keeps the data flowing in while restricted, and a rebuild shows the same', async () => {
    const { h, survivor } = await setup();
    await h.core.gdpr.restrict(TENANT, survivor, { actor: 'dpo' });
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'track', messageId: 'm4', userId: 'u-1', event: 'Still here' }));
    const live = await h.ports.readModels.get(TENANT, survivor);
    expect(live?.kind === 'view' && live.view.restricted).toBe(true);
    await h.core.rebuild.rebuild(TENANT);
    expect(await h.ports.readModels.get(TENANT, survivor)).toEqual(live);
  });

  it('refuses an unknown customer', async () => {
    const { h } = await setup();
    expect((await domainError(h.core.gdpr.restrict(TENANT, 'nobody', { actor: 'dpo' }))).code).toBe('CUSTOMER_NOT_FOUND');
  });
});
