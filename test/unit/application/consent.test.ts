import { describe, expect, it } from 'vitest';
import { decisionEvents, interestCall, makeEngagementHarness } from '../../support/engagement-harness.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, domainError, iso, TENANT, view360 } from './ingest-support.js';

// Consent recorded directly (the consents API) lands in the same per-purpose fold as Segment's
// context.consent.categoryPreferences, on the survivor of the cluster, once per operationId.

const HOUR = 3_600_000;

const consents = (h: Harness) => h.core.consents;

const customer = async (h: Harness, call: Record<string, unknown> = {}) =>
  accepted(
    await h.core.ingest.ingest(TENANT, h.web, {
      type: 'identify',
      messageId: `m-${Math.random()}`,
      userId: 'u-1',
      traits: { email: 'ada@example.com' },
      timestamp: iso(h.clock.now()),
      ...call,
    }),
  ).customerId;

describe('recording consent', () => {
  it('shows a granted purpose in the 360 view with its time and source', async () => {
    const h = makeHarness();
    const id = await customer(h);
    const at = iso(h.clock.now() - HOUR);
    const done = await consents(h).record(TENANT, id, { purpose: 'newsletter', status: 'granted', at, source: 'preference-center' }, { actor: 'agent-7' });
    expect(done).toMatchObject({ customerId: id, purpose: 'newsletter', status: 'granted', at, source: 'preference-center', duplicate: false });
    expect((await view360(h, id)).consents.newsletter).toEqual({ granted: true, status: 'granted', at, source: 'preference-center' });
  });

  it('matches Segment categories case-insensitively: a withdrawal of "marketing" overrides {"Marketing": true}', async () => {
    const h = makeHarness();
    const id = await customer(h, { context: { consent: { categoryPreferences: { Marketing: true } } } });
    expect((await view360(h, id)).consents.marketing?.granted).toBe(true);
    h.clock.advance(HOUR);
    await consents(h).record(TENANT, id, { purpose: ' MARKETING ', status: 'withdrawn' }, { actor: 'agent-7' });
    const v = await view360(h, id);
    expect(Object.keys(v.consents)).toEqual(['marketing']);
    expect(v.consents.marketing).toMatchObject({ granted: false, status: 'withdrawn', source: 'operator:agent-7', at: iso(h.clock.now()) });
  });

  it('keeps the latest decision: an older withdrawal does not undo a newer grant', async () => {
    const h = makeHarness();
    const id = await customer(h);
    await consents(h).record(TENANT, id, { purpose: 'sms', status: 'granted' }, { actor: 'a' });
    await consents(h).record(TENANT, id, { purpose: 'sms', status: 'withdrawn', at: iso(h.clock.now() - HOUR) }, { actor: 'a' });
    expect((await view360(h, id)).consents.sms).toMatchObject({ granted: true, at: iso(h.clock.now()) });
  });

  it('records on the survivor when given a merged-away id', async () => {
    const h = makeHarness();
    const first = await customer(h);
    h.clock.advance(HOUR);
    const second = await customer(h, { userId: undefined, anonymousId: 'anon-2', traits: { phone: '+442079460018' } });
    const merged = await h.core.identity.merge(TENANT, first, second, { actor: 'ops' });
    const done = await consents(h).record(TENANT, merged.absorbedId, { purpose: 'email', status: 'granted' }, { actor: 'a' });
    expect(done).toMatchObject({ customerId: merged.survivorId, requestedId: merged.absorbedId });
    expect((await view360(h, merged.survivorId)).consents.email?.granted).toBe(true);
  });

  it('answers a retry with the same operationId from the first attempt and records nothing twice', async () => {
    const h = makeHarness();
    const id = await customer(h);
    const request = { purpose: 'email', status: 'granted' as const };
    const first = await consents(h).record(TENANT, id, request, { actor: 'a', operationId: 'op-1' });
    const before = (await h.ports.store.readStream(TENANT, id)).length;
    h.clock.advance(HOUR);
    const again = await consents(h).record(TENANT, id, request, { actor: 'a', operationId: 'op-1' });
    expect(again).toMatchObject({ duplicate: true, eventId: first.eventId, at: first.at, customerId: id });
    expect((await h.ports.store.readStream(TENANT, id)).length).toBe(before);
    const other = await domainError(consents(h).record(TENANT, id, { ...request, status: 'withdrawn' }, { actor: 'a', operationId: 'op-1' }));
    expect(other).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', path: ['operationId'] });
  });

  it('refuses a time that is not ISO 8601, not a day that exists, before 2000 or in the future, naming the field', async () => {
    const h = makeHarness();
    const id = await customer(h);
    for (const at of ['yesterday', iso(h.clock.now() + 2 * HOUR), '0026-12-06T00:00:00Z', '1999-12-31T23:59:59.999Z', '2024-02-30T00:00:00Z']) {
      expect(await domainError(consents(h).record(TENANT, id, { purpose: 'email', status: 'granted', at }, { actor: 'a' }))).toMatchObject({
        code: 'VALIDATION_FAILED',
        path: ['at'],
      });
    }
    expect((await view360(h, id)).consents).toEqual({});
  });

  it('takes 2000-01-01T00:00:00Z itself, the floor of every stated time', async () => {
    const h = makeHarness();
    const id = await customer(h);
    const r = await consents(h).record(TENANT, id, { purpose: 'email', status: 'granted', at: '2000-01-01T00:00:00Z' }, { actor: 'a' });
    expect(r).toMatchObject({ status: 'granted', at: '2000-01-01T00:00:00.000Z', duplicate: false });
  });

  it('refuses an unknown customer, and an empty purpose', async () => {
    const h = makeHarness();
    expect(await domainError(consents(h).record(TENANT, 'nobody', { purpose: 'email', status: 'granted' }, { actor: 'a' }))).toMatchObject({
      code: 'CUSTOMER_NOT_FOUND',
    });
    const id = await customer(h);
    expect(await domainError(consents(h).record(TENANT, id, { purpose: '  ', status: 'granted' }, { actor: 'a' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['purpose'],
    });
  });

  it('is audited with ids only', async () => {
    const h = makeHarness();
    const id = await customer(h);
    const done = await consents(h).record(TENANT, id, { purpose: 'email', status: 'withdrawn', source: 'call-center' }, { actor: 'agent-7' });
    expect((await h.ports.audit.list(TENANT, { limit: 10 })).entries).toEqual([
      expect.objectContaining({
        action: 'customer.consent',
        actor: 'agent-7',
        customerId: id,
        outcome: 'ok',
        detail: { requestedId: id, granted: false, eventId: done.eventId },
      }),
    ]);
    expect(JSON.stringify(h.ports.audit.dump())).not.toMatch(/ada@|call-center/i);
  });

  it('refuses a source that is not a system name: it is stored unencrypted', async () => {
    const h = makeHarness();
    const id = await customer(h);
    const e = await domainError(consents(h).record(TENANT, id, { purpose: 'email', status: 'granted', source: 'Ada Lovelace by phone' }, { actor: 'a' }));
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED', path: ['source'] });
    expect(JSON.stringify(await h.ports.store.readStream(TENANT, id))).not.toContain('Lovelace');
  });

  it('dates a decision stated a few minutes ahead when it was received: a withdrawal after it wins', async () => {
    const h = makeHarness();
    const id = await customer(h);
    const received = h.clock.now();
    const done = await consents(h).record(TENANT, id, { purpose: 'sms', status: 'granted', at: iso(received + 4 * 60_000) }, { actor: 'a' });
    expect(done.at).toBe(iso(received));
    h.clock.advance(60_000);
    await consents(h).record(TENANT, id, { purpose: 'sms', status: 'withdrawn' }, { actor: 'a' });
    expect((await view360(h, id)).consents.sms).toMatchObject({ granted: false, status: 'withdrawn', at: iso(h.clock.now()) });
  });
});

describe('a consent decision carried by a call dated ahead', () => {
  it('counts as taken when the call was received: an operator withdrawal after it wins, and no offer is sent', async () => {
    const h = makeEngagementHarness();
    const received = h.clock.now();
    // the client's clock is 20 h ahead (ingest admits up to 24 h)
    const carol = accepted(
      await h.core.ingest.ingest(TENANT, h.web, {
        type: 'identify',
        messageId: 'carol-1',
        userId: 'u-carol',
        traits: { email: 'carol@example.com' },
        timestamp: iso(received + 20 * HOUR),
        context: { consent: { categoryPreferences: { marketing: true } } },
      }),
    ).customerId;
    expect((await view360(h, carol)).consents.marketing).toMatchObject({ granted: true, at: iso(received) });
    h.clock.advance(60_000);
    await h.core.consents.record(TENANT, carol, { purpose: 'marketing', status: 'withdrawn' }, { actor: 'agent-7' });
    h.clock.advance(60_000);
    expect((await h.core.ingest.ingest(TENANT, h.web, interestCall('u-carol', 'electronics'))).status).toBe('accepted');
    expect((await view360(h, carol)).consents.marketing).toMatchObject({ granted: false, status: 'withdrawn' });
    expect((await decisionEvents(h, TENANT)).map((d) => [d.outcome, d.reason])).toEqual([['suppressed', 'NO_CONSENT']]);
    expect(h.notifier.calls).toBe(0);
    // the rest of the call keeps its stated time
    const stream = await h.core.export.export(TENANT, carol, { actor: 'dpo' });
    expect(stream.events.find((e) => e.type === 'TraitsUpdated')?.observedAt).toBe(iso(received + 20 * HOUR));
    expect(stream.consents.history.map((c) => [c.status, c.at])).toEqual([
      ['granted', iso(received)],
      ['withdrawn', iso(received + 60_000)],
    ]);
  });
});
