import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../../src/adapters/metrics/memory.metrics.js';
import { Customer360Projector } from '../../../src/application/projection/customer360.projector.js';
import { Generation } from '../../../src/application/projection/rebuild.generation.js';
import { ScratchDocs } from '../../../src/application/projection/rebuild.use-case.js';
import type { ViewDoc } from '../../../src/application/ports/read-model.port.js';
import type { CustomerEvent, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { emptyView, evolveView } from '../../../src/domain/projection/customer360.js';
import { recorded } from '../../support/decider-spec.js';
import { makeHarness } from '../../support/harness.js';

// The rebuild folds activity events in place and hands the rest to the projector; these pin the
// cases where the two meet: docs read mid-rebuild, pointers, duplicates and gaps.

const T = 'tenant-a';
const page = (name: string): CustomerEvent => ({ type: 'PageViewed', v: 1, data: { name } });
const order = (revenueMinor: number): CustomerEvent => ({ type: 'OrderPlaced', v: 1, data: { orderId: 'o', revenueMinor, currency: 'USD', products: [] } });
const viewOf = (doc: ViewDoc | undefined) => (doc?.kind === 'view' ? doc : expect.unreachable(`expected a view, got ${JSON.stringify(doc)}`));

describe('a rebuild generation', () => {
  it('shows events folded after a doc was read, not the doc as it was read', async () => {
    const g = new Generation();
    expect(g.tryFold(recorded('s', 1, page('Home')))).toBe(true);
    expect(viewOf(await g.get(T, 's')).view.eventCount).toBe(1);
    expect(g.tryFold(recorded('s', 2, order(1250)))).toBe(true);
    const doc = viewOf(await g.get(T, 's'));
    expect(doc).toMatchObject({ version: 2, applied: { s: 2 } });
    expect(doc.view).toMatchObject({ eventCount: 2, orders: { count: 1, revenueMinor: { USD: 1250 } } });
  });

  it('leaves duplicates, gaps and identity events to the projector', () => {
    const g = new Generation();
    expect(g.tryFold(recorded('s', 1, page('Home')))).toBe(true);
    expect(g.tryFold(recorded('s', 1, page('Home')))).toBe(false);
    expect(g.tryFold(recorded('s', 3, page('Cart')))).toBe(false);
    const merged: CustomerEvent = { type: 'CustomerMerged', v: 1, data: { absorbedId: 'a', absorbedVersion: 1 } } as unknown as CustomerEvent;
    expect(g.tryFold(recorded('s', 2, merged))).toBe(false);
    expect(g.size).toBe(1);
  });

  it('folds an absorbed member through its pointer; the view keeps the survivor version', async () => {
    const g = new Generation();
    const survivor: RecordedEvent[] = [recorded('s', 1, page('Home')), recorded('s', 2, page('Cart'))];
    await g.put(T, { kind: 'view', customerId: 's', version: 2, applied: { s: 2, a: 3 }, view: survivor.reduce(evolveView, emptyView('s')) });
    await g.put(T, { kind: 'pointer', customerId: 'a', version: 3, applied: { a: 3 }, mergedInto: 's' });
    expect(g.tryFold(recorded('a', 4, order(500)))).toBe(true);
    const doc = viewOf(await g.get(T, 's'));
    expect(doc).toMatchObject({ version: 2, applied: { s: 2, a: 4 } });
    expect(doc.view).toEqual([...survivor, recorded('a', 4, order(500))].reduce(evolveView, emptyView('s')));
    expect(await g.get(T, 'a')).toMatchObject({ kind: 'pointer', mergedInto: 's' });
  });

  it('builds the same docs as the projector alone for a history with merges', async () => {
    const h = makeHarness();
    const calls = [
      { type: 'identify', userId: 'u1', messageId: 'm1', traits: { email: 'ann@example.com', plan: 'pro' } },
      { type: 'page', name: 'Home', anonymousId: 'anon-1', messageId: 'm2' },
      { type: 'track', event: 'Order Completed', anonymousId: 'anon-1', messageId: 'm3', properties: { order_id: 'o1', revenue: 12, currency: 'USD' } },
      // anon-1 and u1 become one customer
      { type: 'identify', userId: 'u1', anonymousId: 'anon-1', messageId: 'm4', traits: { name: 'Ann' } },
      { type: 'page', name: 'Cart', anonymousId: 'anon-1', messageId: 'm5' },
    ];
    for (const c of calls) {
      expect((await h.core.ingest.ingest(T, h.web, c)).status).toBe('accepted');
      h.clock.advance(1000);
    }
    const { events } = await h.ports.store.readAll(T, { limit: 1_000 });
    const plain = new ScratchDocs();
    const projector = new Customer360Projector(h.ports.store, h.ports.keys, h.core.codec, new MemoryMetrics());
    await projector.apply(T, await projector.decodeAll(T, events, new Map()), plain);
    const { scratch } = await h.core.rebuild.build(T);
    expect([...plain.docs.values()].some((d) => d.kind === 'pointer')).toBe(true);
    expect(Object.fromEntries(scratch.docs)).toStrictEqual(Object.fromEntries(plain.docs));
  });
});
