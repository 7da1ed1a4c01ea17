import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { makeHarness } from '../support/harness.js';
import { startApi, type Api } from '../support/http-fixture.js';

// `?identifier=phone:+44...` typed into curl with the + unencoded: the query string decodes it as a
// space. The lookup takes it as the + it was for a phone, and says how to send it for an email.

let api: Api;
beforeAll(async () => {
  api = await startApi(async () => {
    const h = makeHarness();
    return { core: h.core, intake: syncIntake(h.core.ingest), sourceOf: () => h.web, metrics: h.ports.metrics };
  });
});
afterAll(async () => {
  await api.close();
});

const raw = (query: string) => api.request('GET', `/v1/customers?identifier=${query}`, { token: api.keys.acmeAdmin });

describe('GET /v1/customers?identifier= with an unencoded +', () => {
  it('finds the phone whether the + is encoded or not', async () => {
    const sent = await api.send('identify', { userId: 'plus-1', traits: { phone: '+44 20 7946 0958', email: 'ada+shop@example.com' } });
    expect(sent.status).toBe(200);
    const encoded = await raw('phone:%2B442079460958');
    expect(encoded.status).toBe(200);
    const unencoded = await raw('phone:+442079460958');
    expect(unencoded.status, unencoded.text).toBe(200);
    expect(unencoded.body.customerId).toBe(encoded.body.customerId);
    // spaces inside the number too, as people type it
    const spaced = await raw('phone:+44%2020%207946%200958');
    expect(spaced.status, spaced.text).toBe(200);
    expect(spaced.body.customerId).toBe(encoded.body.customerId);
  });

  it('answers 400 for an email whose + arrived as a space, saying to send %2B', async () => {
    expect((await raw('email:ada%2Bshop@example.com')).status).toBe(200);
    const r = await raw('email:ada+shop@example.com');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'identifier', message: 'a + must be sent as %2B' }] });
    expect(r.body.error.message).toMatch(/send it as %2B/);
  });
});
