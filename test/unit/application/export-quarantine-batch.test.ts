import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, makeHarness } from '../../support/harness.js';
import { accepted, TENANT } from './ingest-support.js';

// One quarantine entry keeps the refused calls of a whole batch, often several people's. An
// access export shows the subject only the calls of such an entry that name them (matched call by
// call as erasure matches an entry), never another person's, and says how many it left out.

afterEach(closeHarnesses);

type Shown = { batch: { messageId?: string }[]; refused?: { index: number }[]; context?: unknown };

describe.each(['memory', 'sqlite'] as const)('a shared quarantine entry in an access export (on %s)', (store) => {
  it("shows the subject their own refused calls of a batch, not another person's, and counts the others", async () => {
    const h = makeHarness({}, { store });
    const ada = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'ada', userId: 'u-adal', traits: { email: 'ada@example.com' } }),
    );
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, {
      context: { library: { name: 'analytics-ios' } },
      batch: [
        { type: 'identify', userId: 'u-bob', messageId: 'mq-bob', timestamp: '2024-02-30', traits: { email: 'bob@example.org', secret: 'bob-diagnosis' } },
        { type: 'identify', userId: 'u-adal', messageId: 'mq-adal', timestamp: '2024-02-31', traits: { email: 'ada@example.com' } },
        { type: 'track', userId: 'u-carl', messageId: 'mq-carl', event: 'Order Completed', properties: { revenue: 1e308, note: 'carl-note' } },
      ],
    });
    expect(out.map((o) => o.status)).toEqual(['quarantined', 'quarantined', 'quarantined']);

    const doc = await h.core.export.export(TENANT, ada.customerId, { actor: 'dpo' });
    expect(doc.quarantine.entries).toHaveLength(1);
    const entry = doc.quarantine.entries[0]!;
    const text = JSON.stringify(entry);
    for (const theirs of ['bob@example.org', 'bob-diagnosis', 'u-bob', 'mq-bob', 'u-carl', 'carl-note', 'batch[0]', 'batch[2]'])
      expect(text).not.toContain(theirs);
    const shown = entry.payload as Shown;
    expect(shown.batch.map((c) => c.messageId)).toEqual(['mq-adal']);
    expect(shown.refused?.map((r) => r.index)).toEqual([1]);
    expect(shown.context).toEqual({ library: { name: 'analytics-ios' } });
    expect(entry.reason.issues.map((i) => i.path)).toEqual([expect.stringMatching(/^batch\[1\]/)]);
    expect(entry.otherCalls).toBe(2);
    // the entry itself is unchanged: erasure and replay still see every call
    const held = await h.ports.quarantine.get(TENANT, entry.id);
    expect((held!.payload as Shown).batch).toHaveLength(3);
  });

  it('cuts a whole batch body refused for its number of calls down to the subject’s calls too', async () => {
    const h = makeHarness({}, { store });
    const ada = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'ada', userId: 'u-adal', traits: { email: 'ada@example.com' } }),
    );
    const batch = Array.from({ length: 5 }, (_, k) => ({ type: 'track', messageId: `m-${k}`, userId: `u-other-${k}`, event: 'Viewed', properties: { k } }));
    batch[3] = { ...batch[3]!, userId: 'u-adal' };
    const id = await h.core.quarantine.hold(
      TENANT,
      'web',
      { batch },
      { code: 'TOO_MANY_CALLS', message: 'too many calls', issues: [{ path: 'batch', message: 'at most 4' }] },
    );
    const doc = await h.core.export.export(TENANT, ada.customerId, { actor: 'dpo' });
    const entry = doc.quarantine.entries.find((e) => e.id === id)!;
    expect((entry.payload as Shown).batch.map((c) => c.messageId)).toEqual(['m-3']);
    expect(entry.otherCalls).toBe(4);
    expect(JSON.stringify(entry)).not.toContain('u-other-');
  });

  it('shows an entry whose every call is the subject’s whole, without a count of others', async () => {
    const h = makeHarness({}, { store });
    const ada = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'ada', userId: 'u-adal', traits: { email: 'ada@example.com' } }),
    );
    await h.core.ingest.ingestBatch(TENANT, h.web, {
      batch: [
        { type: 'identify', userId: 'u-adal', messageId: 'mq-1', timestamp: '2024-02-30' },
        { type: 'identify', anonymousId: 'anon-9', messageId: 'mq-2', timestamp: '2024-02-31', traits: { email: 'ADA@example.com' } },
      ],
    });
    const [entry] = (await h.core.export.export(TENANT, ada.customerId, { actor: 'dpo' })).quarantine.entries;
    expect((entry!.payload as Shown).batch.map((c) => c.messageId)).toEqual(['mq-1', 'mq-2']);
    expect(entry).not.toHaveProperty('otherCalls');
  });
});
