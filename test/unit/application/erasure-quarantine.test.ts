import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { namesCluster, quarantineMatchKeys } from '../../../src/application/gdpr/quarantine-scrub.js';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite.database.js';
import { SqliteQuarantine } from '../../../src/adapters/sqlite/sqlite.quarantine.js';
import { ALICE, ALICE_MALFORMED_LAST_NAME, BOB, holdMalformed, MALFORMED_REASON, seedScenario } from '../../support/erasure-scenario.js';
import { closeHarnesses, makeHarness } from '../../support/harness.js';
import { leaked, memoryDump } from '../../support/store-dump.js';
import { TENANT } from './ingest-support.js';

// Request bodies that never parsed (MALFORMED_JSON) are kept in the quarantine as raw text. When
// they name a customer (an email, a phone number, an id value), her erasure takes them whole, with
// the names in them, and her export lists them; a body naming someone else stays.

afterEach(closeHarnesses);

describe.each(['memory', 'sqlite'] as const)('unparseable quarantined bodies and erasure (on %s)', (store) => {
  it('erasure deletes every unparseable body naming the cluster, export lists them first, others stay', async () => {
    const h = makeHarness({ phoneRegion: 'GB' }, { store });
    const seeded = await seedScenario((call) => h.core.ingest.ingest(TENANT, h.web, call));
    const held = await holdMalformed((raw) => h.core.quarantine.hold(TENANT, 'web', raw, MALFORMED_REASON));
    expect(leaked(memoryDump(h), [ALICE_MALFORMED_LAST_NAME])).toEqual([ALICE_MALFORMED_LAST_NAME.toLowerCase()]);

    const exported = await h.core.export.export(TENANT, seeded.alice[2]!, { actor: 'dpo' });
    const listed = exported.quarantine.entries.map((e) => e.id);
    expect(listed).toEqual(expect.arrayContaining([...held.alice]));
    for (const id of held.bob) expect(listed).not.toContain(id);

    const receipt = await h.core.gdpr.erase(TENANT, seeded.alice[0]!, { actor: 'dpo' });
    // the two parsed calls of the scenario and the three unparseable bodies
    expect(receipt.removed.quarantined).toBe(seeded.quarantined - 1 + held.alice.length);
    for (const id of held.alice) expect(await h.ports.quarantine.get(TENANT, id)).toBeUndefined();
    for (const id of held.bob) expect(await h.ports.quarantine.get(TENANT, id)).toBeDefined();
    const dump = memoryDump(h);
    expect(leaked(dump, [ALICE_MALFORMED_LAST_NAME, ALICE.email, ALICE.phone, ALICE.userId])).toEqual([]);
    expect(leaked(dump, [BOB.email, 'Builder-Malformed'])).toEqual([BOB.email, 'builder-malformed']);
  });
});

describe.each(['memory', 'sqlite'] as const)('the excerpt of a large refused batch and erasure (on %s)', (store) => {
  const EXCERPT = 64 * 1024;
  const TOO_LARGE = { code: 'BODY_TOO_LARGE', message: 'the batch is larger than the limit', issues: [{ path: 'body', message: 'at most 512000 bytes' }] };
  /** a batch body of `n` calls, each with id-shaped fields besides its user (which fill the recorded keys first) */
  const batchText = (n: number, who: (i: number) => string) =>
    JSON.stringify({
      batch: Array.from({ length: n }, (_, i) => ({
        type: 'track',
        messageId: `msg-${i}-9f2c`,
        userId: who(i),
        event: 'Order Completed',
        properties: { productId: `prod-${i}`, orderId: `ord-${i}`, cartId: `cart-${i}` },
      })),
    });

  it('erasure finds a user named anywhere in the kept 64 KB, past what the recorded keys hold', async () => {
    const h = makeHarness({ phoneRegion: 'GB' }, { store });
    const full = batchText(1_000, (i) => `user-${i}`);
    const text = full.slice(0, EXCERPT);
    // the last call whose userId the excerpt holds whole, less two: hundreds of calls in
    const last = Math.max(...[...text.matchAll(/"userId":"user-(\d+)"/g)].map((m) => Number(m[1])));
    const erased = `user-${last - 2}`;
    expect(last).toBeGreaterThan(300);
    const other = batchText(40, (i) => `someone-else-${i}`);
    const out = await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-erased', userId: erased, traits: { plan: 'pro' } });
    expect(out.status).toBe('accepted');
    if (out.status !== 'accepted') return;
    const excerpt = await h.core.quarantine.hold(TENANT, 'web', { bytes: full.length, kept: EXCERPT, text }, TOO_LARGE);
    // the same cut text, kept as a body that does not parse
    const malformed = await h.core.quarantine.hold(TENANT, 'web', text, MALFORMED_REASON);
    const stays = await h.core.quarantine.hold(TENANT, 'web', { bytes: other.length, kept: other.length, text: other }, TOO_LARGE);
    // the recorded keys are full before they reach her call: only the payload itself can tell
    const key = h.ports.hasher.claimKey(TENANT, 'user_id', erased);
    for (const id of [excerpt, malformed]) expect((await h.ports.quarantine.get(TENANT, id))?.matchKeys).not.toContain(key);

    const receipt = await h.core.gdpr.erase(TENANT, out.customerId, { actor: 'dpo' });
    expect(receipt.removed.quarantined).toBe(2);
    expect(await h.ports.quarantine.get(TENANT, excerpt)).toBeUndefined();
    expect(await h.ports.quarantine.get(TENANT, malformed)).toBeUndefined();
    expect(await h.ports.quarantine.get(TENANT, stays)).toBeDefined();
  });
});

describe('a SQLite file made before quarantine entries recorded their keyed hashes', () => {
  it('gains the column on open, keeps its old rows, and records hashes for new ones', async () => {
    const db = new SqliteDatabase({ path: ':memory:' });
    db.db.exec(`CREATE TABLE quarantine_entries (
      tenant TEXT NOT NULL, id TEXT NOT NULL, received_at INTEGER NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, payload TEXT,
      status TEXT NOT NULL, replayed_at INTEGER, expires_at INTEGER NOT NULL, PRIMARY KEY (tenant, id))`);
    db.db
      .prepare('INSERT INTO quarantine_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('t', 'old', 1, 'web', JSON.stringify(MALFORMED_REASON), JSON.stringify('{"broken'), 'pending', null, Date.now() + 60_000);
    const q = new SqliteQuarantine(db);
    expect((await q.get('t', 'old'))?.payload).toBe('{"broken');
    expect((await q.get('t', 'old'))?.matchKeys).toBeUndefined();
    await q.put({ id: 'new', tenant: 't', receivedAt: 2, source: 'web', reason: MALFORMED_REASON, payload: '{"x', status: 'pending', matchKeys: ['h1'] });
    expect((await q.get('t', 'new'))?.matchKeys).toEqual(['h1']);
    db.close();
  });
});

describe('the keyed hashes recorded for a raw body', () => {
  const h = makeHarness({ phoneRegion: 'GB' });
  const keyOf = (type: string, value: string) => h.ports.hasher.claimKey(TENANT, type, value);
  const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);
  const email = fc
    .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]$/), label, fc.constantFrom('com', 'org', 'co.uk', 'example'))
    .map(([local, domain, tld]) => `${local}@${domain}.${tld}`);
  /** text around the token that cannot extend it: no letters, digits or token punctuation */
  const junk = fc.stringMatching(/^[ {}[\]:,;"'<>|#\n]{0,20}$/);

  test.prop([email, junk, junk, fc.boolean()])('hold any email-like token of unparseable text, in any casing', (address, before, after, upper) => {
    const raw = `${before}${upper ? address.toUpperCase() : address}${after}{`;
    fc.pre(
      (() => {
        try {
          JSON.parse(raw);
          return false;
        } catch {
          return true;
        }
      })(),
    );
    expect(quarantineMatchKeys(h.ports, TENANT, raw)).toContain(keyOf('email', address.toLowerCase()));
  });

  test.prop([email])('hold an email percent-encoded in a URL of a parsed call, as erasure and export look for it', (address) => {
    const encoded = encodeURIComponent(address);
    expect(encoded).not.toContain('@');
    const call = { type: 'page', anonymousId: 'a-1', properties: { url: `https://shop.example/unsubscribe?email=${encoded}&list=7` } };
    expect(quarantineMatchKeys(h.ports, TENANT, call)).toContain(keyOf('email', address.toLowerCase()));
    // an entry recorded before its keys held it is found by its payload, and only by this address
    const target = { keys: new Set([keyOf('email', address.toLowerCase())]), types: new Set(['email']), erasureId: 'e-1' };
    expect(namesCluster(h.ports, TENANT, call, target)).toBe(true);
    expect(namesCluster(h.ports, TENANT, call, { ...target, keys: new Set([keyOf('email', `x${address.toLowerCase()}`)]) })).toBe(false);
  });

  test.prop([fc.integer({ min: 0, max: 9999 }), junk, junk, fc.constantFrom('+44 20 7946 %', '020 7946 %', '+442079460%', '(020) 7946-%')])(
    'hold any valid phone number of unparseable text, as E.164',
    (n, before, after, shape) => {
      const digits = String(n).padStart(4, '0');
      const written = shape.replace('%', shape.startsWith('+442079460') ? digits.slice(1) : digits);
      const e164 = `+4420${written.replace(/\D/g, '').slice(-8)}`;
      const raw = `${before}${written}${after}{`;
      fc.pre(!/\d/.test(before + after));
      expect(quarantineMatchKeys(h.ports, TENANT, raw)).toContain(keyOf('phone', e164));
    },
  );

  test.prop([fc.constantFrom('userId', 'anonymousId', 'user_id', 'id'), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/), fc.constantFrom('"', "'", '')])(
    'hold the value of an id field, whatever quotes its key',
    (field, value, quote) => {
      const raw = `{${quote}${field}${quote}: "${value}", "traits": {"lastName": "X"`;
      const keys = quarantineMatchKeys(h.ports, TENANT, raw);
      expect(keys).toContain(keyOf(field.startsWith('anon') ? 'anonymous_id' : 'user_id', value.trim()));
    },
  );

  it('hold the id fields of a text inside a payload: the excerpt kept of a body refused before it was parsed', () => {
    const text = `{"userId":"ada-excerpt","traits":{"email":"ada.excerpt@example.com","pad":"${'p'.repeat(400)}`;
    const keys = quarantineMatchKeys(h.ports, TENANT, { bytes: 40_000_000, kept: text.length, text });
    expect(keys).toContain(keyOf('user_id', 'ada-excerpt'));
    expect(keys).toContain(keyOf('email', 'ada.excerpt@example.com'));
  });
});
