import { dynamoDbEnv } from '../support/dynamodb-env.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { appBackend, at, harnessBackend, startApi, type Api, type HttpBackend } from '../support/http-fixture.js';
import { dynamoDump, memoryDump } from '../support/store-dump.js';

// A user's trial, over HTTP: Ben is auto-merged into Ann, a call of Ben's device lands in Ann's
// stream while they are one, and the merge is undone. The unmerge copies Ben's events into his
// restored stream under his key; the originals stay in Ann's stream. Ann's access export must not
// hold Ben's data (art. 15(4)), and after Ben's erasure nothing in the store may still read as his
// data: the originals lose their pii in the store (their ciphertext under Ann's key is gone), on
// the in-memory store, in the raw bytes of the embedded SQLite file, and in every item of the
// DynamoDB tables (views projected from DynamoDB Streams, which deliver the redaction as a MODIFY).

type Store = {
  readonly name: string;
  readonly backend: () => Promise<HttpBackend>;
  /** the stored pii (ciphertext) of the named events of a stream, as the store holds it now */
  readonly piiOf: (tenant: string, streamId: string, eventIds: readonly string[]) => Promise<(string | undefined)[]>;
  /** whether any of the needles is held anywhere in the store (plain in any casing, or base64) */
  readonly holds: (needles: readonly string[]) => Promise<string[]>;
  readonly cleanup: () => void;
};

const memory = (): Store => {
  let h: Harness;
  return {
    name: 'in-memory store',
    backend: async () => {
      h = makeHarness({}, { store: 'memory' });
      // the core's clock a day after the calls' timestamps
      h.clock.advance(24 * 3_600_000);
      return harnessBackend(h);
    },
    piiOf: async (tenant, streamId, eventIds) => {
      const stream = await h.ports.store.readStream(tenant, streamId);
      return eventIds.map((id) => stream.find((e) => e.eventId === id)?.pii);
    },
    holds: async (needles) => {
      const dump = memoryDump(h);
      return needles.filter((v) => dump.includes(v.toLowerCase()) || dump.includes(Buffer.from(v).toString('base64').toLowerCase()));
    },
    cleanup: () => {},
  };
};

const sqlite = (): Store => {
  const dir = mkdtempSync(join(tmpdir(), 'c360-unmerge-sqlite-'));
  const file = join(dir, 'c360.sqlite');
  const rawFiles = () =>
    ['', '-wal', '-shm']
      .map((s) => file + s)
      .filter(existsSync)
      .map((f) => readFileSync(f).toString('latin1'));
  return {
    name: 'embedded SQLite (the default)',
    backend: async () => {
      const app = await buildApp(
        loadConfig({
          C360_STORE: 'sqlite',
          C360_DATA_DIR: dir,
          C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
          C360_MASTER_KEY: randomBytes(32).toString('base64'),
          C360_PHONE_REGION: 'GB',
        }),
      );
      await app.startBackground();
      return appBackend(app);
    },
    piiOf: async (tenant, streamId, eventIds) => {
      const reader = new SqliteDatabase({ path: file });
      try {
        const rows = reader.db.prepare('SELECT event FROM events WHERE tenant = ? AND stream_id = ?').all(tenant, streamId) as { event: string }[];
        const events = rows.map((r) => JSON.parse(r.event) as { eventId: string; pii?: string });
        return eventIds.map((id) => events.find((e) => e.eventId === id)?.pii);
      } finally {
        reader.close();
      }
    },
    // the raw bytes of the database, its WAL and its shm: plain (any casing) or base64 of the exact value
    holds: async (needles) => {
      const files = rawFiles();
      return needles.filter((v) => files.some((t) => t.toLowerCase().includes(v.toLowerCase()) || t.includes(Buffer.from(v).toString('base64'))));
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
};

const dynamodb = (): Store => {
  const run = randomUUID().slice(0, 8);
  const prefix = `unmerge-${run}-`;
  const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
  let core: HttpBackend['core'];
  return {
    name: 'DynamoDB Local, Streams projection',
    backend: async () => {
      const app = await buildApp(loadConfig(dynamoDbEnv(prefix, { C360_PHONE_REGION: 'GB' })));
      await app.startBackground();
      core = app.core;
      return appBackend(app);
    },
    piiOf: async (tenant, streamId, eventIds) => {
      const stream = await core.ports.store.readStream(tenant, streamId);
      return eventIds.map((id) => stream.find((e) => e.eventId === id)?.pii);
    },
    // every item of the run's tables (events, views, keys, quarantine)
    holds: async (needles) => {
      const { text } = await dynamoDump(client, prefix);
      return needles.filter((v) => text.includes(v.toLowerCase()) || text.includes(Buffer.from(v).toString('base64').toLowerCase()));
    },
    cleanup: () => client.destroy(),
  };
};

// Ben's personal values, sent while he was merged into Ann (the phone as normalised, and as sent)
const BEN_PRIVATE = ['ben-private', '+442079460991', '+44 20 7946 0991'];

for (const make of [memory, sqlite, dynamodb]) {
  const store = make();
  describe(`unmerge and the moved person's data (${store.name})`, () => {
    let api: Api;
    let tenant: string;
    const admin = () => api.keys.acmeAdmin;
    const exportOf = async (id: string) => {
      const res = await api.request('GET', `/v1/customers/${id}/export`, { token: admin() });
      expect(res.status, res.text).toBe(200);
      return res;
    };
    const leaks = (text: string, needles: readonly string[]) => needles.filter((v) => text.toLowerCase().includes(v.toLowerCase()));

    beforeAll(async () => {
      api = await startApi(store.backend);
      tenant = api.tenants.acme;
    });
    afterAll(async () => {
      await api?.close();
      store.cleanup();
    });

    it("leaves Ben's data out of Ann's export, and out of the store once Ben is erased (auto-merge, then unmerge)", async () => {
      expect(
        (await api.send('identify', { userId: 'ann', messageId: 'a-1', timestamp: at(1), traits: { email: 'ann@example.com', name: 'Ann Own' } })).status,
      ).toBe(200);
      expect((await api.send('identify', { anonymousId: 'dev', messageId: 'b-1', timestamp: at(2), traits: { email: 'ben@example.com' } })).status).toBe(200);
      const ann = (await api.lookup('user_id:ann')).body.customerId as string;
      const ben = (await api.lookup('anonymous_id:dev')).body.customerId as string;
      expect(ann).not.toBe(ben);
      // one call carrying both: Ben is merged into Ann
      expect((await api.send('identify', { userId: 'ann', anonymousId: 'dev', messageId: 'ab-1', timestamp: at(3) })).status).toBe(200);
      await api.settle();
      expect((await api.lookup('anonymous_id:dev')).body.customerId).toBe(ann);
      // while merged, Ben's device sends his phone and a private note: they land in Ann's stream
      const sent = await api.send('identify', {
        anonymousId: 'dev',
        messageId: 'b-2',
        timestamp: at(4),
        traits: { phone: '+44 20 7946 0991', medicalNote: 'ben-private' },
      });
      expect(sent.status, sent.text).toBe(200);
      await api.settle();
      const merged = await exportOf(ann);
      expect(leaks(merged.text, ['ben-private', '+442079460991'])).toEqual(['ben-private', '+442079460991']);
      const mergeId = merged.body.identity.merges[0].mergeId as string;
      // the events in Ann's stream that hold Ben's values, and their ciphertext as stored (under Ann's key)
      const originals = (merged.body.events as { eventId: string; streamId: string; pii?: unknown }[])
        .filter((e) => e.streamId === ann && leaks(JSON.stringify(e.pii ?? null), ['ben-private', '+442079460991']).length > 0)
        .map((e) => e.eventId);
      expect(originals.length).toBeGreaterThan(0);
      const ciphertexts = await store.piiOf(tenant, ann, originals);
      expect(ciphertexts.every((c) => typeof c === 'string' && c.length > 20)).toBe(true);
      expect(await store.holds(ciphertexts as string[])).toEqual(ciphertexts);

      const undone = await api.request('POST', `/v1/customers/${ann}/unmerge`, { token: admin(), json: { mergeId, operationId: 'undo-ann-ben' } });
      expect(undone.status, undone.text).toBe(200);
      expect(undone.body).toMatchObject({ survivorId: ann, restoredId: ben, duplicate: false, originalsRedacted: true });
      expect(undone.body.reassignedEvents).toBeGreaterThan(0);
      await api.settle();

      // the originals stay in Ann's stream, without their pii; their copies are Ben's
      expect(await store.piiOf(tenant, ann, originals)).toEqual(originals.map(() => undefined));

      // Ann's export: her own data, none of Ben's, and the given-away events counted, not shown
      const annExport = await exportOf(ann);
      // nor the data of Ben's events (the trait names he sent)
      expect(leaks(annExport.text, [...BEN_PRIVATE, 'ben@example.com', 'medicalNote'])).toEqual([]);
      expect(leaks(annExport.text, ['ann@example.com', 'Ann Own'])).toEqual(['ann@example.com', 'Ann Own']);
      expect(annExport.body.metadata.counts.eventsGivenAway).toBe(undone.body.reassignedEvents);
      // Ben's export holds his data (the scan can see it)
      const benExport = await exportOf(ben);
      expect(leaks(benExport.text, ['ben-private', '+442079460991', 'ben@example.com'])).toEqual(['ben-private', '+442079460991', 'ben@example.com']);

      // the retried unmerge (same operationId) answers the first and redacts again (nothing left)
      const retried = await api.request('POST', `/v1/customers/${ann}/unmerge`, { token: admin(), json: { mergeId, operationId: 'undo-ann-ben' } });
      expect(retried.status, retried.text).toBe(200);
      expect(retried.body).toMatchObject({ survivorId: ann, restoredId: ben, duplicate: true, originalsRedacted: true });

      // Ben's erasure: his data is gone from Ann's export and from the store
      const erased = await api.request('DELETE', `/v1/customers/${ben}`, { token: admin() });
      expect(erased.status, erased.text).toBe(200);
      expect(erased.body.customers).toEqual([ben]);
      await api.settle();
      expect(leaks((await exportOf(ann)).text, [...BEN_PRIVATE, 'ben@example.com', 'medicalNote'])).toEqual([]);
      expect(await store.holds([...BEN_PRIVATE, ...(ciphertexts as string[])])).toEqual([]);
      // the scan can see what is there: Ann's own values survive in her view
      expect(await store.holds(['ann@example.com'])).toEqual(['ann@example.com']);
    });

    it('a forced manual merge undone: the survivor keeps none of what the other sent meanwhile, in its export or its stored events', async () => {
      expect((await api.send('identify', { userId: 'carl', messageId: 'c-1', timestamp: at(10), traits: { email: 'carl@example.com' } })).status).toBe(200);
      expect((await api.send('identify', { anonymousId: 'dee-dev', messageId: 'd-1', timestamp: at(11), traits: { email: 'dee@example.com' } })).status).toBe(
        200,
      );
      const carl = (await api.lookup('user_id:carl')).body.customerId as string;
      const dee = (await api.lookup('anonymous_id:dee-dev')).body.customerId as string;
      const merged = await api.request('POST', `/v1/customers/${carl}/merge`, { token: admin(), json: { otherId: dee, force: true, reason: 'test' } });
      expect(merged.status, merged.text).toBe(200);
      const survivor = merged.body.survivorId as string;
      const absorbed = merged.body.absorbedId as string;
      // the absorbed side's device sends while merged
      const absorbedDevice = absorbed === dee ? { anonymousId: 'dee-dev' } : { userId: 'carl' };
      const secret = `${absorbed === dee ? 'dee' : 'carl'}-private-note`;
      expect((await api.send('identify', { ...absorbedDevice, messageId: 'x-1', timestamp: at(12), traits: { medicalNote: secret } })).status).toBe(200);
      await api.settle();
      const before = await exportOf(survivor);
      expect(leaks(before.text, [secret])).toEqual([secret]);
      const original = (before.body.events as { eventId: string; pii?: unknown }[]).find((e) => JSON.stringify(e.pii ?? null).includes(secret))!.eventId;
      expect(await store.piiOf(tenant, survivor, [original])).toEqual([expect.any(String)]);

      const undone = await api.request('POST', `/v1/customers/${survivor}/unmerge`, { token: admin(), json: { mergeId: merged.body.mergeId } });
      expect(undone.status, undone.text).toBe(200);
      expect(undone.body).toMatchObject({ restoredId: absorbed, originalsRedacted: true, reassignedEvents: 1 });
      await api.settle();
      const survivorExport = await exportOf(survivor);
      expect(leaks(survivorExport.text, [secret, 'medicalNote'])).toEqual([]);
      expect(survivorExport.body.metadata.counts.eventsGivenAway).toBe(1);
      expect(leaks((await exportOf(absorbed)).text, [secret])).toEqual([secret]);
      expect(survivorExport.body.events.map((e: { eventId: string }) => e.eventId)).not.toContain(original);
      // the original stays in the survivor's stream, without its pii
      expect(await store.piiOf(tenant, survivor, [original])).toEqual([undefined]);
    });
  });
}
