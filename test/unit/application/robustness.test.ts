import { describe, expect, it } from 'vitest';
import { EventCodec } from '../../../src/application/event-codec.js';
import { AesGcmCipher, createDataKey } from '../../../src/adapters/crypto/node-crypto.js';
import { makeHarness } from '../../support/harness.js';
import { accepted, domainError, iso, TENANT, view360 } from './ingest-support.js';

// Bad or unlucky input that must neither lose data nor corrupt the 360 view.

const identify = (over: Record<string, unknown> = {}) => ({ type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { plan: 'pro' }, ...over });

describe('placeholders and clocks', () => {
  it('treats a placeholder email such as "n/a" as a blocked identifier, keeping the rest of the call', async () => {
    const h = makeHarness();
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ traits: { email: 'N/A', plan: 'pro' } })));
    expect(out.rejected).toEqual([{ type: 'email', reason: 'IDENTIFIER_BLOCKED' }]);
    const v = await view360(h, out.customerId);
    expect(v.identifiers.map((i) => i.type)).toEqual(['user_id']);
    expect(v.traits.plan?.value).toBe('pro');
  });

  it('refuses a timestamp far in the future, so it cannot win last-writer-wins forever', async () => {
    const h = makeHarness();
    const first = accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ traits: { plan: 'old' } })));
    const ahead = await h.core.ingest.ingest(TENANT, h.web, identify({ messageId: 'm-2', timestamp: '9999-01-01T00:00:00Z', traits: { plan: 'future' } }));
    expect(ahead).toMatchObject({ status: 'quarantined', error: { code: 'VALIDATION_FAILED', issues: [{ path: 'timestamp' }] } });
    h.clock.advance(60_000);
    await h.core.ingest.ingest(TENANT, h.web, identify({ messageId: 'm-3', traits: { plan: 'new' } }));
    const v = await view360(h, first.customerId);
    expect(v.traits.plan).toMatchObject({ value: 'new', observedAt: iso(h.clock.now()) });
  });
});

describe('failures around a commit', () => {
  it('answers accepted when projecting fails after the commit, and the next event repairs the view', async () => {
    const h = makeHarness();
    const first = accepted(await h.core.ingest.ingest(TENANT, h.web, identify()));
    const put = h.ports.readModels.put.bind(h.ports.readModels);
    h.ports.readModels.put = async () => {
      throw new Error('read-model store down');
    };
    accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ messageId: 'm-2', traits: { plan: 'plus' } })));
    expect(h.ports.metrics.get('projection_failed')).toBe(1);
    h.ports.readModels.put = put;
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'track', messageId: 'm-3', userId: 'u-1', event: 'Signed In' }));
    const v = await view360(h, first.customerId);
    expect(v.traits.plan?.value).toBe('plus');
    expect(v.timeline.map((t) => t.title)).toContain('Signed In');
  });

  it('keeps going through a batch when one call hits an infrastructure failure, and keeps that call', async () => {
    const h = makeHarness();
    const getOrCreate = h.ports.keys.getOrCreate.bind(h.ports.keys);
    let calls = 0;
    h.ports.keys.getOrCreate = async (t, id) => {
      if (++calls === 2) throw new Error('key store unavailable');
      return getOrCreate(t, id);
    };
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, {
      batch: [identify({ messageId: 'b-1', userId: 'u-1' }), identify({ messageId: 'b-2', userId: 'u-2' }), identify({ messageId: 'b-3', userId: 'u-3' })],
    });
    expect(out.map((o) => o.status)).toEqual(['accepted', 'quarantined', 'accepted']);
    const entry = (await h.core.quarantine.list(TENANT, {})).entries[0]!;
    // kept in the batch's entry of refused calls, at its index, with its reason
    expect(entry.reason.code).toBe('BATCH_CALLS_REFUSED');
    expect((entry.payload as { refused: unknown[] }).refused).toEqual([expect.objectContaining({ index: 1, code: 'INTERNAL_ERROR' })]);
    // nothing lost: once the key store is back, the kept call replays
    expect(await h.core.quarantine.replay(TENANT, entry.id)).toMatchObject({ status: 'replayed', calls: [{ index: 1, status: 'accepted' }] });
  });
});

describe('manual operations are idempotent by operationId', () => {
  it('answers a retried merge with what the first did, and refuses the id for another operation', async () => {
    const h = makeHarness();
    const a = accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ messageId: 'a', userId: 'u-a' })));
    const b = accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ messageId: 'b', userId: undefined, anonymousId: 'anon-b' })));
    const first = await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops', operationId: 'op-1' });
    const log = h.ports.store.dump();
    const again = await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops', operationId: 'op-1' });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(h.ports.store.dump()).toEqual(log);
    expect((await domainError(h.core.identity.unmerge(TENANT, first.survivorId, first.mergeId, { actor: 'ops', operationId: 'op-1' }))).code).toBe(
      'IDEMPOTENCY_CONFLICT',
    );
    const undone = await h.core.identity.unmerge(TENANT, first.survivorId, first.mergeId, { actor: 'ops', operationId: 'op-2' });
    expect(await h.core.identity.unmerge(TENANT, first.survivorId, first.mergeId, { actor: 'ops', operationId: 'op-2' })).toEqual({
      ...undone,
      duplicate: true,
    });
  });
});

describe('decoding', () => {
  it('reads a destroyed key as erased, but refuses a ciphertext that fails under a live key', () => {
    const cipher = new AesGcmCipher();
    const codec = new EventCodec(cipher);
    const key = createDataKey('k-1');
    const stored = codec.encode(
      't',
      {
        eventId: 'e-1',
        streamId: 'c-1',
        version: 1,
        observedAt: 0,
        source: 'web',
        sourcePriority: 0,
        channel: 'web',
        event: { type: 'IdentifierLinked', v: 1, data: { type: 'email', key: 'k', observedAt: 0 }, pii: { value: 'ada@example.com' } },
      },
      key,
      0,
    );
    expect(codec.decode(stored, null).event).not.toHaveProperty('pii');
    expect((codec.decode(stored, key).event as { pii?: unknown }).pii).toEqual({ value: 'ada@example.com' });
    expect(() => codec.decode({ ...stored, eventId: 'e-2' }, key)).toThrow();
    expect(() => codec.decode(stored, createDataKey('k-other'))).toThrow();
  });
});
