import { describe, expect, it } from 'vitest';
import { AesGcmCipher, UuidV7Generator } from '../../src/adapters/crypto/node-crypto.js';
import { EncryptedQuarantine } from '../../src/adapters/crypto/encrypted-quarantine.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { quarantineEntry } from '../support/builders.js';
import { ManualClock } from '../support/harness.js';

// Retention of the in-memory quarantine (the embedded default), as DynamoDbQuarantine does it:
// counted from when an entry was quarantined, gone for every read at once, and gone from memory.

const HOUR = 3_600_000;

const setup = () => {
  const clock = new ManualClock();
  const inner = new MemoryQuarantine({ retentionMs: 2 * HOUR, clock });
  return { clock, inner, q: new EncryptedQuarantine(inner, new MemoryKeyStore(), new AesGcmCipher()), ids: new UuidV7Generator(clock.now) };
};

describe('MemoryQuarantine retention', () => {
  it('an entry past its retention is neither returned, listed nor replayable, and no longer held', async () => {
    const { clock, inner, q, ids } = setup();
    const [older, newer] = [ids.newId(), ids.newId()];
    await q.put(quarantineEntry('acme', older, { payload: { email: 'old@example.com' } }));
    clock.advance(HOUR);
    await q.put(quarantineEntry('acme', newer, { payload: { email: 'new@example.com' } }));
    await expect(q.list('acme', { limit: 10 })).resolves.toMatchObject({ entries: [{ id: older }, { id: newer }] });

    clock.advance(HOUR); // older is exactly 2 hours old now
    await expect(q.get('acme', older)).resolves.toBeUndefined();
    await expect(q.list('acme', { limit: 1 })).resolves.toEqual({ entries: [expect.objectContaining({ id: newer, payload: { email: 'new@example.com' } })] });
    await expect(q.list('acme', { limit: 10, status: 'pending' })).resolves.toMatchObject({ entries: [{ id: newer }] });
    await expect(q.markReplayed('acme', older, clock.now())).rejects.toThrow(/past its retention/);
    await q.markReplayed('acme', newer, clock.now());
    expect((inner.dump() as Record<string, { id: string }[]>).acme!.map((e) => e.id)).toEqual([newer]);

    clock.advance(HOUR);
    await expect(q.list('acme', { limit: 10 })).resolves.toEqual({ entries: [] });
    await expect(q.get('acme', newer)).resolves.toBeUndefined();
    expect(inner.dump()).toEqual({ acme: [] });
  });

  it('counts from the last put of an id, and keeps a cursor to an expired entry working', async () => {
    const { clock, q, ids } = setup();
    const [a, b, c] = [ids.newId(), ids.newId(), ids.newId()];
    await q.put(quarantineEntry('acme', a));
    await q.put(quarantineEntry('acme', b));
    const first = await q.list('acme', { limit: 1 });
    expect(first.next).toBe(a);
    clock.advance(HOUR);
    await q.put(quarantineEntry('acme', b, { source: 'kinesis' })); // re-quarantined: a fresh retention
    await q.put(quarantineEntry('acme', c));
    clock.advance(HOUR); // a has expired, b and c have an hour left
    await expect(q.list('acme', { after: first.next, limit: 10 })).resolves.toEqual({
      entries: [expect.objectContaining({ id: b, source: 'kinesis' }), expect.objectContaining({ id: c })],
    });
    await expect(q.list('acme', { limit: 10 })).resolves.toMatchObject({ entries: [{ id: b }, { id: c }] });
  });

  it('a rewrite (an erasure taking a call out) keeps the retention counted from the put, and does not bring back an expired entry', async () => {
    const { clock, inner, q, ids } = setup();
    const id = ids.newId();
    await q.put(quarantineEntry('acme', id, { payload: { batch: [{ email: 'gina@example.com' }, { email: 'hank@example.com' }] } }));
    clock.advance(HOUR);
    const change = {
      reason: quarantineEntry('acme', id).reason,
      payload: { batch: [{ email: 'hank@example.com' }] },
      matchKeys: [],
      ifReason: quarantineEntry('acme', id).reason,
    };
    await expect(q.rewrite('acme', id, change)).resolves.toBe(true);
    await expect(q.get('acme', id)).resolves.toMatchObject({ payload: change.payload });
    clock.advance(HOUR); // two hours since the put, one since the rewrite
    await expect(q.get('acme', id)).resolves.toBeUndefined();
    await expect(q.rewrite('acme', id, change)).resolves.toBe(false);
    expect(inner.dump()).toEqual({ acme: [] });
  });

  it('keeps entries 30 days unless told otherwise, and refuses a retention that is not positive', async () => {
    const clock = new ManualClock();
    const q = new MemoryQuarantine({ clock });
    await q.put(quarantineEntry('acme', 'q-1'));
    clock.advance(30 * 24 * HOUR - 1);
    await expect(q.get('acme', 'q-1')).resolves.toBeDefined();
    clock.advance(1);
    await expect(q.get('acme', 'q-1')).resolves.toBeUndefined();
    expect(() => new MemoryQuarantine({ retentionMs: 0 })).toThrow(/retention must be a positive number/);
  });
});
