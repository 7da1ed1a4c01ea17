import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qualityReport } from '../../../src/adapters/lake/duckdb.quality.js';
import { LakeProjector } from '../../../src/application/lake/lake.projector.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';
import { tempLake } from '../../support/lake-fixture.js';

// An order line of quantity 0 is taken at ingest (the Limits table: quantity from 0; Segment allows
// it), and the lake holds only lines that sold something, so the quality check's
// `fact_order_line quantity > 0` holds of every lake written from an accepted log.

let h: Harness;
let lake: Awaited<ReturnType<typeof tempLake>>;

beforeAll(async () => {
  h = makeHarness();
  lake = await tempLake(h.clock.now);
});
afterAll(() => {
  lake?.cleanup();
  closeHarnesses();
});

describe('order lines of quantity 0', () => {
  it('are taken at ingest, left out of fact_order_line (the order and the others kept), and the quality check passes', async () => {
    const call = {
      type: 'track',
      messageId: 'm-zero',
      userId: 'u-zero',
      event: 'Order Completed',
      properties: {
        order_id: 'o-zero',
        revenue: 30,
        currency: 'USD',
        products: [
          { product_id: 'p-sample', price: 5, quantity: 0, category: 'samples' },
          { product_id: 'p-book', price: 15, quantity: 2, category: 'books' },
        ],
      },
    };
    const accepted = await h.core.ingest.ingest('acme', h.web, call);
    expect(accepted).toBeDefined();
    await new LakeProjector(h.ports.store, lake.lake.writer).catchUp('acme');
    const performance = await lake.lake.analytics.run('acme', 'product-performance', { now: String(h.clock.now() + 1) });
    // the sample is a product the lake knows, of which nothing was sold and no one bought
    expect(performance.map((r) => [r.product_id, r.units, r.buyers])).toEqual([
      ['p-book', 2, 1],
      ['p-sample', 0, 0],
    ]);
    const revenue = await lake.lake.analytics.run('acme', 'monthly-revenue', { now: String(h.clock.now() + 1) });
    expect(revenue.map((r) => r.orders)).toEqual([1]);
    const report = await qualityReport(lake.lake.instance, lake.root, 'acme', { now: h.clock.now() + 1, maxAgeHours: 24 });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.find((c) => c.rule === 'quantity > 0')).toMatchObject({ ok: true, value: 0 });
  });
});
