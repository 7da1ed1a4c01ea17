import Analytics from '@rudderstack/rudder-sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeApi, WRITE_KEY, type EdgeApi } from '../support/http-edge-fixture.js';

// The official RudderStack Node SDK pointed at the API, unchanged: it POSTs /v1/batch with the
// write key as the Basic user name, the body gzip-compressed (Content-Encoding: gzip) and sent as
// application/x-www-form-urlencoded (axios' default for a Buffer).

let api: EdgeApi;
beforeAll(async () => {
  api = await startEdgeApi();
});
afterAll(async () => {
  await api?.close();
});

describe('RudderStack Node SDK', () => {
  it('delivers identify and track calls, gzip-compressed, into a customer 360', async () => {
    const errors: unknown[] = [];
    const client = new Analytics(WRITE_KEY, {
      dataPlaneUrl: api.baseUrl,
      flushAt: 2,
      flushInterval: 60_000,
      retryCount: 0,
      logLevel: 'error',
      errorHandler: (e) => errors.push(e),
    });
    const sent = (send: (done: (err?: unknown) => void) => void) => new Promise<unknown>((resolve) => send((err) => resolve(err)));
    const delivered = Promise.all([
      sent((done) => client.identify({ userId: 'rudder-1', traits: { email: 'Rudder@Example.com', plan: 'growth' } }, done)),
      sent((done) => client.track({ userId: 'rudder-1', event: 'Report Exported', properties: { format: 'csv' } }, done)),
    ]);
    await client.flush();
    expect(await delivered).toEqual([undefined, undefined]);
    expect(errors).toEqual([]);
    const found = await api.lookup('email:rudder@example.com');
    expect(found.status).toBe(200);
    expect(found.body.traits.plan.value).toBe('growth');
    expect(found.body.timeline.map((t: { title: string }) => t.title)).toContain('Report Exported');
  });
});
