import { describe, expect, it } from 'vitest';
import type { ViewDoc } from '../../../src/application/ports/read-model.port.js';
import type { ViewDocs } from '../../../src/application/projection/customer360.projector.js';
import { ScratchDocs } from '../../../src/application/projection/rebuild.use-case.js';
import type { RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { emptyView } from '../../../src/domain/projection/customer360.js';
import { seedScenario, type Seeded } from '../../support/erasure-scenario.js';
import { dumpViews, makeHarness, type Harness } from '../../support/harness.js';
import { readAllEvents } from '../../support/paging.js';
import { domainError, TENANT } from './ingest-support.js';

// An erased customer's events delivered to the projector after the erasure (DynamoDB Streams
// delivering a log that `c360 migrate` copied, a redelivery, a lagging follower), in any batches
// and order: no doc of the erased cluster is ever written, and the other docs come out as the
// live ones. Before, an event the projector found no doc for started a new view, so the erased
// customer's first events (delivered before its tombstone, or after it) made its view again, and
// GET /v1/customers/<id> answered 200 with it.

/** Docs in memory that remember every doc written for the given ids. */
class Recording implements ViewDocs {
  readonly inner = new ScratchDocs();
  readonly written: string[] = [];
  constructor(private readonly watched: readonly string[]) {}
  get(tenant: string, id: string) {
    return this.inner.get(tenant, id);
  }
  async put(tenant: string, doc: ViewDoc) {
    if (this.watched.includes(doc.customerId)) this.written.push(`${doc.kind} ${doc.customerId}`);
    return this.inner.put(tenant, doc);
  }
  delete(tenant: string, id: string) {
    return this.inner.delete(tenant, id);
  }
  dump(): unknown[] {
    return JSON.parse(JSON.stringify([...this.inner.docs.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1))));
  }
}

const setup = async (): Promise<{ h: Harness; seeded: Seeded; events: RecordedEvent[] }> => {
  const h = makeHarness();
  const seeded = await seedScenario((call) => h.core.ingest.ingest(TENANT, h.web, call));
  await h.core.gdpr.erase(TENANT, seeded.alice[1]!, { actor: 'dpo' });
  // what a delivery hands the projector: every committed event, decoded with the keys there are now
  const events: RecordedEvent[] = [];
  for (const s of await readAllEvents(h.ports.store, TENANT, 100))
    events.push(h.core.codec.decode(s, s.pii === undefined ? null : await h.ports.keys.get(TENANT, s.streamId)));
  return { h, seeded, events };
};

/** Delivers the batches one after another, each with a key cache of its own (as the Streams projector does). */
const deliver = async (h: Harness, docs: ViewDocs, batches: readonly (readonly RecordedEvent[])[]) => {
  for (const batch of batches) await h.core.projector.apply(TENANT, batch, docs, new Map());
};

const tombstone = (r: RecordedEvent) => r.event.type === 'CustomerErased';

describe('the projector on an erased customer’s events', () => {
  it.each([
    ['its events first, its tombstones in a later batch', (events: RecordedEvent[]) => [events.filter((r) => !tombstone(r)), events.filter(tombstone)]],
    ['its tombstones first, its other events in a later batch', (events: RecordedEvent[]) => [events.filter(tombstone), events.filter((r) => !tombstone(r))]],
    ['one event per batch, in log order', (events: RecordedEvent[]) => events.map((r) => [r])],
    ['one event per batch, in reverse log order', (events: RecordedEvent[]) => events.toReversed().map((r) => [r])],
  ])('writes no doc of the erased cluster, delivered %s, and the others as live', async (_name, batches) => {
    const { h, seeded, events } = await setup();
    const docs = new Recording(seeded.alice);
    await deliver(h, docs, batches(events));
    expect(docs.written).toEqual([]);
    expect(docs.dump()).toEqual(await dumpViews(h, TENANT));
    expect(docs.dump().length).toBeGreaterThanOrEqual(2);
  });

  it('writes none when an erased customer’s events are delivered again to the live read models', async () => {
    const { h, seeded, events } = await setup();
    const live = await dumpViews(h, TENANT);
    await deliver(
      h,
      h.ports.readModels,
      events.filter((r) => seeded.alice.includes(r.streamId) && !tombstone(r)).map((r) => [r]),
    );
    expect(await dumpViews(h, TENANT)).toEqual(live);
    for (const id of seeded.alice) expect(await h.ports.readModels.get(TENANT, id)).toBeUndefined();
  });
});

describe('GET of an erased customer whose doc the read model still holds', () => {
  it('answers 410 naming the erasure, never the doc', async () => {
    const { h, seeded } = await setup();
    const receipt = await h.ports.ledger.find(TENANT, seeded.alice[0]!);
    expect(receipt).toBeDefined();
    // a doc left by a projection that raced the erasure (another process, a stale cached key)
    const doc: ViewDoc = {
      kind: 'view',
      customerId: seeded.aliceSurvivor,
      version: 3,
      applied: { [seeded.aliceSurvivor]: 3 },
      view: emptyView(seeded.aliceSurvivor),
    };
    await h.ports.readModels.put(TENANT, doc);
    for (const id of seeded.alice) {
      const e = await domainError(h.core.queries.get360(TENANT, id));
      expect(e.code).toBe('CUSTOMER_ERASED');
      expect(e.message).toContain(receipt!.erasureId);
    }
    // the others are served as before
    for (const id of seeded.others) expect(['view', 'redirect']).toContain((await h.core.queries.get360(TENANT, id)).kind);
  });
});
