import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalMasterKey, MasterKeyring } from '../../../src/adapters/crypto/master-key.js';
import { createCore, createPorts, defaultSourceOf } from '../../../src/public/index.js';
import { sqliteStores } from '../../../src/public/sqlite.js';
import { MALFORMED_REASON } from '../../support/erasure-scenario.js';

// An erasure never needs a data key's plaintext: a customer whose key is wrapped by a master key
// the keyring does not hold (the master key changed between runs, or a previous key was dropped
// too early) is erased all the same, receipt and all, and answers as erased afterwards.

const TENANT = 'acme';
const CLAIM_SECRET = randomBytes(32).toString('base64url');
const ring = (...keys: LocalMasterKey[]) => new MasterKeyring(keys[0]!, keys.slice(1));
const A = new LocalMasterKey(randomBytes(32));
const B = new LocalMasterKey(randomBytes(32));

const opened: { close(): void }[] = [];
const files: string[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  for (const f of files.splice(0)) for (const suffix of ['', '-wal', '-shm']) rmSync(`${f}${suffix}`, { force: true });
});

/** a core on one SQLite file (':memory:' is per connection, so a file in a temp dir) */
const coreOn = (path: string, keyring: MasterKeyring) => {
  const stores = sqliteStores({ path, keyring });
  opened.push(stores);
  const ports = createPorts({ stores, claimSecret: CLAIM_SECRET });
  return { ports, core: createCore(ports, { inlineProjection: true, sourceOf: defaultSourceOf }) };
};

const tempFile = (): string => {
  const f = join(tmpdir(), `c360-erasure-unreadable-${randomBytes(6).toString('hex')}.sqlite`);
  files.push(f);
  return f;
};

describe('erasure of a customer whose data key the keyring cannot open', () => {
  it('destroys the key, deletes the view, snapshot and quarantined calls, and records the receipt', async () => {
    const path = tempFile();
    const first = coreOn(path, ring(A));
    const web = defaultSourceOf(TENANT, 'web');
    const r = await first.core.ingest.ingest(TENANT, web, { type: 'identify', userId: 'mk', traits: { email: 'mk@example.com', firstName: 'Mika' } });
    const customerId = (r as { customerId: string }).customerId;
    expect(customerId).toBeTruthy();
    // refused calls (bodies that never parsed) quarantined under the first master key: one naming
    // her, one naming someone else
    const held = first.core.quarantine;
    const hers = await held.hold(TENANT, 'web', '{"type":"track","userId":"mk","traits":{"email":"mk@example.com"', MALFORMED_REASON);
    const theirs = await held.hold(TENANT, 'web', '{"type":"track","userId":"zz","traits":{"email":"zz@example.com"', MALFORMED_REASON);
    expect((await first.ports.quarantine.list(TENANT, { limit: 10 })).entries).toHaveLength(2);
    const claimKeys = [...(await first.core.repo.load(TENANT, customerId)).identifiers.values()].map((i) => i.key);
    expect((await first.ports.store.readClaims(TENANT, claimKeys)).size).toBe(2);
    opened.splice(0).forEach((s) => s.close());

    // the next run has another master key, and not the first one as a previous key
    const second = coreOn(path, ring(B));
    const receipt = await second.core.gdpr.erase(TENANT, customerId, { actor: 'dpo@test' });
    expect(receipt.customers).toEqual([customerId]);
    expect(receipt.removed).toEqual({ streams: 1, claims: 2, dataKeys: 1, views: 1, snapshots: 0, quarantined: 1 });
    // hers went by the keys recorded with it; the other could not be searched, and the receipt says so
    expect(receipt.quarantineUnsearched).toBe(1);
    const left = (await second.ports.quarantine.list(TENANT, { limit: 10 })).entries;
    expect(left.map((e) => [e.id, e.payloadUnavailable])).toEqual([[theirs, 'key-unreadable']]);
    expect(left.map((e) => e.id)).not.toContain(hers);
    expect(await second.ports.ledger.find(TENANT, customerId)).toEqual(receipt);
    expect(await second.ports.readModels.get(TENANT, customerId)).toBeUndefined();
    expect(await second.ports.keys.get(TENANT, customerId)).toBeNull();
    expect(await second.ports.store.readClaims(TENANT, claimKeys)).toEqual(new Map());
    // afterwards the id answers as erased, and a repeat answers the same receipt
    await expect(second.core.queries.get360(TENANT, customerId)).rejects.toMatchObject({ code: 'CUSTOMER_ERASED' });
    expect(await second.core.gdpr.erase(TENANT, customerId, { actor: 'dpo@test' })).toEqual(receipt);
  });

  it('re-applied without that master key, reports the payloads it could not search (each once); with it back, searches them', async () => {
    const path = tempFile();
    const first = coreOn(path, ring(A));
    const web = defaultSourceOf(TENANT, 'web');
    const ids: string[] = [];
    for (const who of ['mk', 'nn']) {
      const r = await first.core.ingest.ingest(TENANT, web, { type: 'identify', userId: who, traits: { email: `${who}@example.com` } });
      ids.push((r as { customerId: string }).customerId);
    }
    const theirs = await first.core.quarantine.hold(TENANT, 'web', '{"type":"track","userId":"zz","traits":{"email":"zz@example.com"', MALFORMED_REASON);
    opened.splice(0).forEach((s) => s.close());

    const second = coreOn(path, ring(B));
    for (const id of ids) expect((await second.core.gdpr.erase(TENANT, id, { actor: 'dpo@test' })).quarantineUnsearched).toBe(1);
    const progress: unknown[] = [];
    const partial = await second.core.gdpr.reapply(TENANT, { actor: 'dpo@test', onProgress: (p) => progress.push(p) });
    // two receipts met the one entry it cannot open: one payload unsearched, not two
    expect(partial).toEqual({ erasures: 2, tombstoned: 0, dataKeys: 0, views: 0, snapshots: 0, quarantined: 0, quarantineUnsearched: 1 });
    expect(progress.at(-1)).toEqual({ ...partial, done: true });
    const audited = (await second.ports.audit.list(TENANT, { limit: 50 })).entries.filter((e) => e.action === 'erasure.reapply');
    expect(audited.at(-1)?.detail).toMatchObject({ quarantineUnsearched: 1 });
    opened.splice(0).forEach((s) => s.close());

    // the first master key back as a previous key: searched, and it names neither of them, so it stays
    const third = coreOn(path, ring(B, A));
    const whole = await third.core.gdpr.reapply(TENANT, { actor: 'dpo@test' });
    expect(whole).toEqual({ erasures: 2, tombstoned: 0, dataKeys: 0, views: 0, snapshots: 0, quarantined: 0 });
    expect((await third.ports.quarantine.list(TENANT, { limit: 10 })).entries.map((e) => [e.id, e.payloadUnavailable])).toEqual([[theirs, undefined]]);
  });
});
