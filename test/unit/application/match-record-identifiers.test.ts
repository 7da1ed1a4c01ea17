import { afterAll, describe, expect, it } from 'vitest';
import { matchRecordOfView } from '../../../src/domain/matching/view-record.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';

// A match record reads email and phone from the customer's linked identifiers: the values the
// exact rules normalised and took. A blocked placeholder or an invalid number (a trait the
// identity rules refused) is no evidence, and formatting noise in a trait hides nothing.

const TENANT = 'acme';
let message = 0;
const identify = async (h: Harness, anonymousId: string, traits: Record<string, unknown>): Promise<string> => {
  const out = await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `rec-${++message}`, anonymousId, traits });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};
const recordOf = async (h: Harness, id: string) => {
  const doc = await h.ports.readModels.get(TENANT, id);
  if (doc?.kind !== 'view') throw new Error(`no view for ${id}`);
  return matchRecordOfView(doc.view);
};

afterAll(closeHarnesses);

describe('the match record of a view', () => {
  it('holds no blocked or invalid phone, whatever the trait says', async () => {
    const h = makeHarness();
    for (const [anon, phone] of [
      ['p1', '000000'],
      ['p2', '+0000000'],
      ['p3', '+44 0000 000000'],
    ] as const) {
      const id = await identify(h, anon, { phone, firstName: 'Pat' });
      expect(await recordOf(h, id)).toEqual({ givenName: 'pat' });
    }
  });

  it('reads the normalised identifiers, not the raw traits: zero-width characters and an extension do not change the values', async () => {
    const h = makeHarness();
    const zed = await identify(h, 'zed', { email: 'Zed.Per\u200bson@Example.com', phone: '+442079460958;ext=5', firstName: 'Zed', lastName: 'Person' });
    const doc = await h.ports.readModels.get(TENANT, zed);
    const linked = doc?.kind === 'view' ? Object.values(doc.view.identifiers).find((f) => f.type === 'phone')?.value : undefined;
    expect(linked).toMatch(/^\+44/);
    expect(await recordOf(h, zed)).toEqual({ givenName: 'zed', surname: 'person', email: 'zed.person@example.com', phone: linked!.replace(/\D/g, '') });
  });
});
