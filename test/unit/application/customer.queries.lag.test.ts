import { describe, expect, it } from 'vitest';
import { makeHarness } from '../../support/harness.js';
import { accepted, domainError, iso, TENANT } from './ingest-support.js';

// Read-your-writes when the view lags (DynamoDB Streams, another process's follower): a customer
// whose write was acknowledged is answered from its log, never 404, and nothing is written by the
// read. An erased customer answers 410 naming the erasure; an id never seen, 404.

const HOUR = 3_600_000;

describe('the 360 view of a customer whose view has not been projected yet', () => {
  const setup = async () => {
    const h = makeHarness();
    const t = h.clock.now();
    const send = async (call: Record<string, unknown>) => accepted(await h.core.ingest.ingest(TENANT, h.web, call));
    const a = await send({ type: 'identify', messageId: 'a1', userId: 'u-a', traits: { email: 'a@example.com', name: 'Ann' }, timestamp: iso(t + HOUR) });
    const b = await send({ type: 'page', messageId: 'b1', anonymousId: 'anon-b', name: 'Home', timestamp: iso(t + 2 * HOUR) });
    // b's anonymous id joins a's email: b is absorbed into a (observed first)
    await send({ type: 'identify', messageId: 'b2', anonymousId: 'anon-b', traits: { email: 'a@example.com' }, timestamp: iso(t + 3 * HOUR) });
    const projected = await h.core.queries.get360(TENANT, a.customerId);
    // the lag: the read models lose every doc of the cluster (as if not projected yet)
    for (const id of [a.customerId, b.customerId]) await h.ports.readModels.delete(TENANT, id);
    return { h, a: a.customerId, b: b.customerId, projected };
  };

  it('answers the view folded from the log, the same as the projected one, and writes nothing', async () => {
    const { h, a, projected } = await setup();
    expect(projected.kind).toBe('view');
    expect(await h.core.queries.get360(TENANT, a)).toEqual(projected);
    expect(await h.ports.readModels.get(TENANT, a)).toBeUndefined();
  });

  it('redirects an absorbed id to its survivor, and finds the customer by identifier', async () => {
    const { h, a, b, projected } = await setup();
    expect(await h.core.queries.get360(TENANT, b)).toEqual({ kind: 'redirect', survivorId: a });
    expect(await h.core.queries.findByIdentifier(TENANT, 'email', 'a@example.com')).toEqual(projected);
  });

  it('answers 410 naming the erasure for an erased customer, 404 for an id never seen', async () => {
    const { h, a, b } = await setup();
    const receipt = await h.core.gdpr.erase(TENANT, b, { actor: 'dpo' });
    for (const id of [a, b]) {
      const e = await domainError(h.core.queries.get360(TENANT, id));
      expect(e.code).toBe('CUSTOMER_ERASED');
      expect(e.message).toContain(receipt.erasureId);
    }
    expect((await domainError(h.core.queries.get360(TENANT, 'never-seen'))).code).toBe('CUSTOMER_NOT_FOUND');
  });
});
