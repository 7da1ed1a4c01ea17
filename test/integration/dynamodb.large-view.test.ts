import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { dynamoDbEnv } from '../support/dynamodb-env.js';

// The trial that found it: on `npm start` with C360_STORE=dynamodb, one customer identified 20
// times with 90 new traits of 300 characters each (27 KB a call, under the 32 KB bound) has a 360
// view of about 700 KB of JSON. DynamoDB refuses an item over 400 KB: the view stopped at the call
// that crossed it, for good, and reads answered it stale. It must stay current.

describe('a 360 view over 400 KB of JSON on DynamoDB Local', () => {
  const prefix = `large-${randomUUID().slice(0, 8)}-`;
  let app: App;

  beforeAll(async () => {
    app = await buildApp(loadConfig(dynamoDbEnv(prefix)));
    await app.startBackground();
  }, 60_000);
  afterAll(() => app?.close());

  it('stays current through every call: version, traits and timeline; nothing refused', async () => {
    const tenant = 'acme';
    const web = app.sourceOf(tenant, 'web');
    const errors = vi.spyOn(console, 'error');
    let last = { customerId: '', viewVersion: 0 };
    for (let call = 0; call < 20; call++) {
      const traits = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`c${call}_t${i}`, randomBytes(225).toString('base64')]));
      const outcome = await app.core.ingest.ingest(tenant, web, { type: 'identify', messageId: `big-${call}`, userId: 'u-large', traits });
      if (outcome.status !== 'accepted') throw new Error(`call ${call}: ${JSON.stringify(outcome)}`);
      last = outcome;
    }
    const tracked = await app.core.ingest.ingest(tenant, web, { type: 'track', messageId: 'small-1', userId: 'u-large', event: 'Viewed' });
    if (tracked.status !== 'accepted') throw new Error(JSON.stringify(tracked));
    expect(tracked.customerId).toBe(last.customerId);
    expect(tracked.viewVersion).toBeGreaterThan(last.viewVersion);
    await app.drainBackground();

    const doc = await app.core.ports.readModels.get(tenant, tracked.customerId);
    if (doc?.kind !== 'view') throw new Error('no view');
    expect(JSON.stringify(doc).length).toBeGreaterThan(600_000);
    expect(doc.version).toBe(tracked.viewVersion);
    expect(Object.keys(doc.view.traits).filter((k) => /^c\d+_t\d+$/.test(k))).toHaveLength(1_800);
    // the timeline went on past the call that crossed 400 KB: all 20 identifies, then the track
    const types = doc.view.timeline.map((e) => e.type);
    expect(types[0]).toBe('EventTracked');
    expect(types.filter((t) => t === 'TraitsUpdated')).toHaveLength(20);
    const read = await app.core.queries.get360(tenant, tracked.customerId);
    expect(read.kind === 'view' && read.customer.version).toBe(tracked.viewVersion);
    expect(errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('stream record rejected'))).toEqual([]);
    expect(app.metrics.get('streams_records_rejected')).toBe(0);
    errors.mockRestore();
  });
});
