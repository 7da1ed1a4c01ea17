import { afterAll, describe, expect, it } from 'vitest';
import { EncryptedQuarantine } from '../../../src/adapters/crypto/encrypted-quarantine.js';
import { AesGcmCipher } from '../../../src/adapters/crypto/aes-gcm.cipher.js';
import { MemoryKeyStore } from '../../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../../src/adapters/memory/memory.quarantine.js';
import { NOT_REPLAYABLE, QuarantineUseCases } from '../../../src/application/quarantine/quarantine.use-cases.js';
import { closeHarnesses, makeHarness, type StoreKind } from '../../support/harness.js';
import { quarantined, TENANT } from './ingest-support.js';

// What a replay does with what the quarantine kept: a number that overflowed (1e400, which
// JSON.parse reads as Infinity) is refused again rather than replayed as null, and an entry that
// does not keep a call (an excerpt of a body refused unparsed, text, an interest capture, a whole
// batch body, an undecodable record) is refused as NOT_REPLAYABLE, saying why, and stays pending
// with its own reason.

afterAll(closeHarnesses);

const TOO_LARGE = { code: 'CALL_TOO_LARGE', message: 'the call is larger than the 32 KB limit', issues: [{ path: 'body', message: 'at most 32768 bytes' }] };

describe.each<StoreKind>(['memory', 'sqlite'])('quarantine replay (%s)', (store) => {
  it('refuses a call whose amount overflowed to Infinity again, for the same reason, instead of storing an order of 0', async () => {
    const h = makeHarness({}, { store });
    // what the HTTP intake hands on for {"properties":{"total":1e400}}
    const call = JSON.parse('{"type":"track","userId":"u1","event":"Order Completed","properties":{"total":1e400}}');
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(q.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'properties.total', message: 'must be a finite number' }] });
    // refused again for the same reason (before, the stored payload said null and the replay was accepted)
    const again = await h.core.quarantine.replay(TENANT, q.quarantineId);
    expect(again).toMatchObject({ status: 'rejected', error: { code: 'VALIDATION_FAILED', issues: q.error.issues } });
    const kept = await h.ports.quarantine.get(TENANT, q.quarantineId);
    expect(kept).toMatchObject({ status: 'pending', payload: { properties: { total: { $nonFinite: 'Infinity' } } } });
    expect(h.ports.store.dump()).toEqual({});
  });

  it('refuses ids that overflowed (userId 1e400 and 1e401) again on replay: they never become one customer "Infinity"', async () => {
    const h = makeHarness({}, { store });
    for (const text of ['{"type":"track","event":"x","userId":1e400}', '{"type":"track","event":"y","userId":1e401}']) {
      const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, JSON.parse(text)));
      expect(q.error.issues.map((i) => i.path)).toEqual(['userId']);
      const again = await h.core.quarantine.replay(TENANT, q.quarantineId);
      expect(again).toMatchObject({ status: 'rejected', error: { code: 'VALIDATION_FAILED', issues: [expect.objectContaining({ path: 'userId' })] } });
    }
    expect(h.ports.store.dump()).toEqual({});
  });

  it('refuses to replay the excerpt of a body refused as too large, naming its size and reason; the entry keeps its reason', async () => {
    const h = makeHarness({}, { store });
    const excerpt = { bytes: 5_242_880, kept: 12, text: '{"userId":"u' };
    const id = await h.core.quarantine.hold(TENANT, 'web', excerpt, TOO_LARGE, undefined, 'body');
    const out = await h.core.quarantine.replay(TENANT, id);
    expect(out).toMatchObject({ status: 'rejected', error: { code: NOT_REPLAYABLE, issues: [] } });
    const message = (out as { error: { message: string } }).error.message;
    expect(message).toMatch(/an excerpt \(the first 12 bytes\) of a 5,242,880-byte body refused as CALL_TOO_LARGE/);
    expect(message).toMatch(/cannot be replayed/);
    expect(await h.ports.quarantine.get(TENANT, id)).toMatchObject({ status: 'pending', reason: TOO_LARGE, intake: 'body' });
  });

  it('refuses an excerpt or text kept before entries recorded their intake, by its shape', async () => {
    const h = makeHarness({}, { store });
    const excerpt = await h.core.quarantine.hold(TENANT, 'web', { bytes: 40_000, kept: 40_000, text: '{"userId":"u1"}' }, TOO_LARGE);
    const malformed = { code: 'MALFORMED_JSON', message: 'the request body is not valid JSON', issues: [{ path: '(root)', message: 'not JSON' }] };
    const text = await h.core.quarantine.hold(TENANT, 'web', '{"userId": "u1",', malformed);
    expect(await h.core.quarantine.replay(TENANT, excerpt)).toMatchObject({
      status: 'rejected',
      error: { code: NOT_REPLAYABLE, message: expect.stringMatching(/a 40,000-byte body refused as CALL_TOO_LARGE .* before it was read as JSON/) },
    });
    expect(await h.core.quarantine.replay(TENANT, text)).toMatchObject({
      status: 'rejected',
      error: {
        code: NOT_REPLAYABLE,
        message: expect.stringMatching(/the text of a body or line refused as MALFORMED_JSON \(the request body is not valid JSON\), not a call/),
      },
    });
  });

  it('refuses an interest capture, a whole batch body and an undecodable record, naming their own reason', async () => {
    const h = makeHarness({}, { store });
    const invalid = { code: 'VALIDATION_FAILED', message: 'invalid interest: interest: Required', issues: [{ path: 'interest', message: 'Required' }] };
    const interest = await h.core.quarantine.hold(TENANT, 'web', { customerId: 'u1' }, invalid, undefined, 'interest');
    const many = { code: 'TOO_MANY_CALLS', message: 'the batch holds 2001 calls', issues: [{ path: 'batch', message: 'at most 2000 calls' }] };
    const batch = await h.core.quarantine.hold(TENANT, 'web', { batch: [{ type: 'track' }] }, many, undefined, 'batch');
    const record = await h.core.quarantine.hold(
      TENANT,
      'kinesis',
      { c360: 2, call: { type: 'track' } },
      { code: 'UNDECODABLE_RECORD', message: 'envelope version 2 is not supported', issues: [] },
      undefined,
      'record',
    );
    const messages = await Promise.all(
      [interest, batch, record].map(async (id) => {
        const out = await h.core.quarantine.replay(TENANT, id);
        expect(out).toMatchObject({ status: 'rejected', error: { code: NOT_REPLAYABLE } });
        return (out as { error: { message: string } }).error.message;
      }),
    );
    expect(messages[0]).toMatch(/a \/v1\/interests body refused as VALIDATION_FAILED \(invalid interest: interest: Required\) before it became a call/);
    expect(messages[1]).toMatch(/a whole \/v1\/batch body refused as TOO_MANY_CALLS/);
    expect(messages[2]).toMatch(/an import line or stream record refused as UNDECODABLE_RECORD/);
    const pending = await h.core.quarantine.list(TENANT, { status: 'pending' });
    expect(pending.entries.map((e) => e.reason.code).sort()).toEqual(['TOO_MANY_CALLS', 'UNDECODABLE_RECORD', 'VALIDATION_FAILED']);
  });

  it('still replays a call held without an intake (an earlier failure of ours)', async () => {
    const h = makeHarness({}, { store });
    const call = { type: 'identify', userId: 'u-held', messageId: 'm-held', traits: { firstName: 'Ada' } };
    const id = await h.core.quarantine.hold(TENANT, 'web', call, { code: 'INTERNAL_ERROR', message: 'the store was down', issues: [] });
    expect(await h.core.quarantine.replay(TENANT, id)).toMatchObject({ status: 'accepted' });
    expect(await h.ports.quarantine.get(TENANT, id)).toMatchObject({ status: 'replayed' });
  });
});

describe('quarantine replay over the encrypted quarantine', () => {
  it('refuses the overflowed amount again: the sealed payload keeps Infinity as {"$nonFinite": "Infinity"}, not null', async () => {
    const h = makeHarness({}, { store: 'memory' });
    const sealed = new EncryptedQuarantine(new MemoryQuarantine(), new MemoryKeyStore(), new AesGcmCipher());
    const ports = { ...h.ports, quarantine: sealed };
    const cases = new QuarantineUseCases(sealed, h.core.ingest, h.clock, () => h.web, ports);
    const call = JSON.parse('{"type":"track","userId":"u1","event":"Order Completed","properties":{"total":1e400,"currency":"USD"}}');
    const reason = {
      code: 'VALIDATION_FAILED',
      message: 'properties.total must be a finite number',
      issues: [{ path: 'properties.total', message: 'must be a finite number' }],
    };
    await sealed.put({ id: 'q-inf', tenant: TENANT, receivedAt: h.clock.now(), source: 'web', reason, payload: call, status: 'pending' });
    expect((await sealed.get(TENANT, 'q-inf'))?.payload).toMatchObject({ properties: { total: { $nonFinite: 'Infinity' } } });
    expect(await cases.replay(TENANT, 'q-inf')).toMatchObject({
      status: 'rejected',
      error: { code: 'VALIDATION_FAILED', issues: [{ path: 'properties.total' }] },
    });
    expect(h.ports.store.dump()).toEqual({});
  });
});
