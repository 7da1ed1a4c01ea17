import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { cliConfig } from '../../src/infrastructure/cli.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve } from '../../src/infrastructure/server.js';
import { withLocalSecrets } from '../../src/infrastructure/local/secrets.js';
import { runCliInProcess } from '../support/cli-runner.js';
import { listAllViews } from '../support/paging.js';

// The `c360` program in-process on an in-memory App, configured as the bin configures it, with
// captured output: what a user sees, and what the store holds afterwards.

const TENANT = 'acme';
let dir: string;
let app: App;
let opened: number;
let debug = false;

const c360 = (...argv: string[]) => c360With({}, ...argv);
/** with a Ctrl-C the test can press: `interrupt.press()` */
const c360With = (interrupt: { press?: () => void }, ...argv: string[]) =>
  runCliInProcess(argv, {
    tenant: TENANT,
    debug,
    open: async () => {
      opened++;
      return app;
    },
    onInterrupt: (stop) => {
      interrupt.press = stop;
      return () => {
        interrupt.press = undefined;
      };
    },
  });

const views = async (tenant = TENANT): Promise<ViewDoc[]> =>
  (await listAllViews(app.core.ports.readModels, tenant, 500)).sort((a, b) => a.customerId.localeCompare(b.customerId));
const live = async (tenant = TENANT) => (await views(tenant)).flatMap((d) => (d.kind === 'view' ? [d.view] : []));
const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  opened = 0;
  app = await buildApp(withLocalSecrets(cliConfig({ C360_STORE: 'memory', C360_TENANT: TENANT }, 'job')).config);
});
afterEach(async () => {
  await app.close();
});

describe('c360 seed', () => {
  it('ingests exactly the asked totals, merging each person into one customer across four sources', async () => {
    const r = await c360('seed', '--customers', '20', '--products', '8', '--orders', '60', '--events', '150', '--seed', '3', '--json');
    expect(r.code, r.err).toBe(0);
    const result = r.json();
    expect(result).toMatchObject({ tenant: TENANT, customers: 20, products: 8, orders: 60, events: 150 });
    expect(result.outcomes).toMatchObject({ accepted: result.calls, quarantined: 0 });
    expect(Object.keys(result.bySource).sort()).toEqual(['crm', 'mobile', 'support', 'web']);
    expect(result.merges).toBeGreaterThan(0);
    expect(app.metrics.get('identity_merge')).toBe(result.merges);

    const customers = await live();
    expect(customers).toHaveLength(20);
    expect(customers.reduce((n, c) => n + c.orders.count, 0)).toBe(60);
    // each source's channel reached the views (CRM and support outrank clickstream by default)
    const channels = new Set(customers.flatMap((c) => Object.keys(c.channels)));
    for (const ch of ['web', 'mobile', 'crm', 'support']) expect(channels).toContain(ch);
    // someone the CRM knows is one customer holding their CRM id, email and user id
    const known = customers.find((c) => Object.values(c.identifiers).some((i) => i.type === 'crm_id'));
    expect(known && Object.values(known.identifiers).map((i) => i.type)).toEqual(expect.arrayContaining(['crm_id', 'email', 'user_id', 'anonymous_id']));
    expect(r.err).toMatch(/seed: 100% /);
  });

  it('changes nothing when run again with the same seed', async () => {
    await c360('seed', '--customers', '6', '--orders', '10', '--events', '30', '--products', '4', '--concurrency', '3');
    const before = await views();
    const again = await c360('seed', '--customers', '6', '--orders', '10', '--events', '30', '--products', '4', '--json');
    expect(again.code).toBe(0);
    expect(again.json().outcomes).toMatchObject({ accepted: 0, duplicate: again.json().calls });
    expect(await views()).toEqual(before);
  });

  it('prints a readable summary without --json and honours --tenant', async () => {
    const r = await c360('--tenant', 'other', 'seed', '--customers', '3', '--orders', '3', '--events', '9', '--products', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/seeded tenant "other"/);
    expect(r.out).toMatch(/3 people, 2 products, 3 orders, 9 clickstream events/);
    expect(await live('other')).toHaveLength(3);
    expect(await live()).toHaveLength(0);
  });
});

describe('c360 import', () => {
  const ada = { type: 'identify', messageId: 'm1', userId: 'u-ada', traits: { email: 'ada@example.com', firstName: 'Ada' } };
  const order = { type: 'track', messageId: 'm2', userId: 'u-ada', event: 'Order Completed', properties: { order_id: 'o1', revenue: 30 } };

  it('streams NDJSON: good lines are ingested, bad ones quarantined and reported by line, and the import goes on', async () => {
    const path = await file(
      'calls.ndjson',
      [
        JSON.stringify(ada),
        '',
        'this is not json',
        JSON.stringify({ type: 'track', userId: 'u-ada' }),
        '[1,2]',
        JSON.stringify(order),
        JSON.stringify(ada),
      ].join('\n'),
    );
    const r = await c360('import', path, '--json');
    expect(r.code, r.err).toBe(0);
    const report = r.json();
    expect(report).toMatchObject({ lines: 6, accepted: 2, duplicate: 1, rejected: 3 });
    expect(report.rejectedLines.map((l: { line: number; code: string; fields: string[] }) => [l.line, l.code, l.fields])).toEqual([
      [3, 'MALFORMED_JSON', ['(line)']],
      [4, 'VALIDATION_FAILED', ['event']],
      [5, 'VALIDATION_FAILED', ['(root)']],
    ]);
    // the message and each field's problem, as the server's answer has them
    expect(report.rejectedLines[1]).toMatchObject({
      message: 'invalid Segment call: event: event is required',
      issues: [{ path: 'event', message: 'event is required' }],
    });
    // nothing lost: each rejected line is in the quarantine under the reported id
    for (const l of report.rejectedLines) expect((await app.core.ports.quarantine.get(TENANT, l.quarantineId))?.status).toBe('pending');
    expect((await app.core.ports.quarantine.get(TENANT, report.rejectedLines[0].quarantineId))?.payload).toBe('this is not json');
    // the unchanged file imported again: its rejected lines are the entries that hold them already
    const held = (await app.core.ports.quarantine.list(TENANT, { limit: 100 })).entries.length;
    const again = await c360('import', path, '--json');
    expect(again.json()).toMatchObject({ lines: 6, accepted: 0, duplicate: 3, rejected: 3 });
    expect(again.json().rejectedLines.map((l: { quarantineId: string }) => l.quarantineId)).toEqual(
      report.rejectedLines.map((l: { quarantineId: string }) => l.quarantineId),
    );
    expect((await app.core.ports.quarantine.list(TENANT, { limit: 100 })).entries).toHaveLength(held);

    const found = await app.core.queries.findByIdentifier(TENANT, 'email', 'ada@example.com');
    expect(found.kind === 'view' && found.customer.orders.count).toBe(1);
  });

  describe('stopped early', () => {
    const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ type: 'identify', messageId: `stop-${i + 1}`, userId: `u-stop-${i + 1}` }));
    const text = `${lines.join('\n')}\n`;
    /** the percentage of the file that lines 1..n take */
    const percentOf = (n: number) =>
      Math.floor(
        (Buffer.byteLength(
          lines
            .slice(0, n)
            .map((l) => `${l}\n`)
            .join(''),
        ) *
          100) /
          Buffer.byteLength(text),
      );
    /** the last progress line on stderr */
    const lastProgress = (err: string) =>
      err
        .split('\n')
        .filter((l) => l.startsWith('import '))
        .at(-1) ?? '';
    /** ingest that runs `before` ahead of the n-th call (1-based) */
    const onCall = (n: number, before: () => void) => {
      const real = app.core.ingest.ingest.bind(app.core.ingest);
      let calls = 0;
      return vi.spyOn(app.core.ingest, 'ingest').mockImplementation(async (...args) => {
        if (++calls === n) before();
        return real(...args);
      });
    };

    it('by a store failure: the progress stops where the lines were done (not at 100%), naming the line', async () => {
      const path = await file('fails.ndjson', text);
      onCall(3, () => {
        throw new Error('the disk is full');
      });
      const r = await c360('import', path);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/stopped at line 3: the disk is full; the lines before it are imported/);
      expect(percentOf(2)).toBeLessThan(100);
      expect(lastProgress(r.err)).toMatch(new RegExp(`^import \\S+: ${percentOf(2)}% 2 lines done, 0 rejected, stopped at line 3 \\([\\d.]+ s, stopped\\)$`));
      expect(r.err).not.toMatch(/100%/);
    });

    it('by Ctrl-C: the calls in flight finish, the report says where it stopped, exits 130; the same command again imports the rest', async () => {
      const path = await file('interrupted.ndjson', text);
      const interrupt: { press?: () => void } = {};
      const spy = onCall(3, () => interrupt.press?.());
      const r = await c360With(interrupt, 'import', path, '--json');
      expect(r.code, r.err).toBe(130);
      expect(r.json()).toMatchObject({ lines: 3, accepted: 3, interrupted: true, stoppedAtLine: 4 });
      expect(r.err).toMatch(/^interrupted: stopped at line 4 of \S+: the 3 lines before it are imported and kept\./m);
      expect(r.err).toMatch(/run the same command again/);
      expect(lastProgress(r.err)).toMatch(new RegExp(`^import \\S+: ${percentOf(3)}% 3 lines done, 0 rejected, stopped at line 4 \\([\\d.]+ s, stopped\\)$`));
      expect(r.err).not.toMatch(/100%/);
      spy.mockRestore();
      const again = await c360('import', path, '--json');
      expect(again.code, again.err).toBe(0);
      expect(again.json()).toMatchObject({ lines: 6, accepted: 3, duplicate: 3 });
      expect(again.json()).not.toHaveProperty('interrupted');
      expect(lastProgress(again.err)).toMatch(/^import \S+: 100% 6 lines done, 0 rejected \([\d.]+ s, done\)$/);
    });

    it('with --url, by Ctrl-C: the batch on its way is answered, the next one is not sent, and the report says from which line', async () => {
      const served: string[] = [];
      const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote-stop' }), (l) => served.push(l));
      const writeKey = served.map((l) => /export WRITE_KEY=(\S+)/.exec(l)?.[1]).find(Boolean)!;
      const many = Array.from({ length: 250 }, (_, i) => JSON.stringify({ type: 'identify', messageId: `rs-${i + 1}`, userId: `u-rs-${i + 1}` }));
      const path = await file('remote-stop.ndjson', `${many.join('\n')}\n`);
      const interrupt: { press?: () => void } = {};
      const realFetch = globalThis.fetch;
      // Ctrl-C while the first batch (lines 1-100) is on its way
      const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
        interrupt.press?.();
        return realFetch(...args);
      });
      try {
        const r = await c360With(interrupt, 'import', path, '--url', server.url, '--write-key', writeKey, '--json');
        expect(r.code, r.err).toBe(130);
        expect(spy).toHaveBeenCalledTimes(1);
        expect(r.json()).toMatchObject({ lines: 101, sent: 100, notSent: 0, interrupted: true, stoppedAtLine: 101 });
        expect(r.err).toMatch(/^interrupted: stopped at line 101 of \S+: the 100 lines before it are sent\./m);
        const bytes = Buffer.byteLength(
          many
            .slice(0, 100)
            .map((l) => `${l}\n`)
            .join(''),
        );
        const percent = Math.floor((bytes * 100) / Buffer.byteLength(`${many.join('\n')}\n`));
        expect(lastProgress(r.err)).toMatch(new RegExp(`^import \\S+: ${percent}% 100 lines done, 0 rejected, stopped at line 101 \\(`));
        spy.mockRestore();
        const again = await c360('import', path, '--url', server.url, '--write-key', writeKey, '--json');
        expect(again.code, again.err).toBe(0);
        expect(again.json()).toMatchObject({ lines: 250, sent: 250, rejected: 0 });
      } finally {
        spy.mockRestore();
        await server.close();
      }
    });

    it('with calls in flight at once: the stop is the first line not done, whatever finished after it', async () => {
      const path = await file('concurrent.ndjson', text);
      onCall(2, () => {
        throw new Error('the store went away');
      });
      const r = await c360('import', path, '--concurrency', '4');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/stopped at line 2: the store went away/);
      expect(lastProgress(r.err)).toMatch(new RegExp(`^import \\S+: ${percentOf(1)}% 1 line done, 0 rejected, stopped at line 2 \\(`));
    });
  });

  it('with --url, sends a line holding a lone surrogate alone: the other lines land, and it is reported by its line with its own quarantine id', async () => {
    const served: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote-lone' }), (l) => served.push(l));
    const writeKey = served.map((l) => /export WRITE_KEY=(\S+)/.exec(l)?.[1]).find(Boolean)!;
    const lines = Array.from({ length: 150 }, (_, i) =>
      i + 1 === 120
        ? '{"type":"identify","messageId":"rl-120","userId":"u-rl-120","traits":{"name":"\\udc00"}}'
        : JSON.stringify({ type: 'identify', messageId: `rl-${i + 1}`, userId: `u-rl-${i + 1}` }),
    );
    const path = await file('remote-lone.ndjson', `${lines.join('\n')}\n`);
    try {
      const r = await c360('import', path, '--url', server.url, '--write-key', writeKey, '--json');
      expect(r.code, r.err).toBe(0);
      const report = r.json();
      expect(report).toMatchObject({ lines: 150, sent: 150, refusedByServer: 1, notSent: 0, rejected: 1 });
      expect(report.rejectedLines).toMatchObject([
        { line: 120, code: 'BODY_NOT_UTF8', fields: ['traits.name'], message: expect.stringMatching(/^line 120: /) },
      ]);
      // kept on the server by itself: the entry holds that line's call only
      const entry = await server.app.core.ports.quarantine.get('remote-lone', report.rejectedLines[0].quarantineId);
      expect(entry?.reason.code).toBe('BODY_NOT_UTF8');
      expect(JSON.stringify(entry?.payload)).toContain('rl-120');
      expect(JSON.stringify(entry?.payload)).not.toContain('rl-119');
      const stored = await listAllViews(server.app.core.ports.readModels, 'remote-lone', 500);
      expect(stored.filter((d) => d.kind === 'view')).toHaveLength(149);
      expect((await c360('import', path, '--url', server.url, '--write-key', writeKey, '--strict')).code).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('with --url, names the line of a call the server names by its index in a batch it refuses whole', async () => {
    const path = await file('remote-refused.ndjson', `${JSON.stringify(ada)}\n${JSON.stringify(order)}\n`);
    const answer = { error: { code: 'VALIDATION_FAILED', message: 'the string at batch[1].properties.order_id is refused' } };
    const spy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify(answer), { status: 400 }));
    try {
      const r = await c360('import', path, '--url', 'http://127.0.0.1:9', '--write-key', 'wk');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/stopped at line 1: the server at \S+ answered 400 to a batch: the string at properties\.order_id \(line 2\) is refused;/);
    } finally {
      spy.mockRestore();
    }
  });

  it('gives a line without messageId or timestamp an id of its own: equal lines are two calls, and importing the file again skips them', async () => {
    const added = { type: 'track', userId: 'u-lines', event: 'Product Added', properties: { product_id: 'p-same' } };
    const path = await file('repeats.ndjson', [JSON.stringify(added), JSON.stringify(added)].join('\n'));
    const first = (await c360('import', path, '--json')).json();
    expect(first).toMatchObject({ lines: 2, accepted: 2, duplicate: 0, rejected: 0 });
    const again = (await c360('import', path, '--json')).json();
    expect(again).toMatchObject({ lines: 2, accepted: 0, duplicate: 2, rejected: 0 });
  });

  it('holds each line to the bounds of a call (64 levels, 32 KB): a line nested 20,000 deep or of 40 KB is quarantined, the import goes on', async () => {
    const deep = `{"type":"identify","messageId":"deep-line","userId":"p1","traits":{"x":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}}`;
    const big = JSON.stringify({ type: 'track', messageId: 'big-line', userId: 'p1', event: 'E', properties: { s: 'x'.repeat(40_000) } });
    // too deep for a call (64) but not for the quarantine to keep it as JSON (256): kept as a call, replayable
    const over = `{"type":"identify","messageId":"over-line","userId":"p1","traits":{"x":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}}`;
    const path = await file('bounds.ndjson', [deep, big, JSON.stringify(ada), over].join('\n'));
    const r = await c360('import', path, '--json');
    expect(r.code, r.err).toBe(0);
    const report = r.json();
    expect(report).toMatchObject({ lines: 4, rejected: 3 });
    expect(report.rejectedLines.map((l: { line: number; code: string; replayable: boolean }) => [l.line, l.code, l.replayable])).toEqual([
      [1, 'NESTING_TOO_DEEP', false],
      [2, 'CALL_TOO_LARGE', true],
      [4, 'NESTING_TOO_DEEP', true],
    ]);
    const [deepLine, , overLine] = report.rejectedLines;
    expect(typeof (await app.core.ports.quarantine.get(TENANT, deepLine.quarantineId))?.payload).toBe('string');
    // the report says why the line nested deeper than 256 levels is not replayable, as a replay would refuse it
    expect(deepLine.notReplayable).toMatch(/deeper than 256 levels.*kept as its JSON text.*cannot be replayed/);
    expect(overLine.notReplayable).toBeUndefined();
    const replay = await c360('quarantine', 'replay', deepLine.quarantineId, '--json');
    expect(replay.json().results).toEqual([expect.objectContaining({ status: 'pending', code: 'NOT_REPLAYABLE' })]);
    // in its text too: the deep line is not offered for replay
    const human = await c360('import', path);
    expect(human.out).toMatch(/line 1: NESTING_TOO_DEEP .*-> quarantine \S+ \(not replayable: nested deeper than 256 levels/);
    expect(human.out).toMatch(/line 4: NESTING_TOO_DEEP .*-> quarantine \S+$/m);
  });

  it('refuses a line that is not UTF-8 or holds a lone surrogate, naming the line and the byte or field; the import goes on', async () => {
    const latin1 = (name: string) =>
      Buffer.from(`${JSON.stringify({ type: 'identify', userId: `u-${name.length}-${name.charCodeAt(1)}`, traits: { name } })}\n`, 'latin1');
    // Müller and Møller in Latin-1: read as UTF-8 with U+FFFD they would become one name
    const bytes = Buffer.concat([
      latin1('Müller'),
      latin1('Møller'),
      Buffer.from('{"type":"identify","userId":"u-lone","traits":{"name":"\\udc00"}}\n'),
      Buffer.from(`${JSON.stringify(ada)}\n`),
    ]);
    const path = join(dir, 'latin1.ndjson');
    await writeFile(path, bytes);
    const r = await c360('import', path, '--json');
    expect(r.code, r.err).toBe(0);
    const report = r.json();
    expect(report).toMatchObject({ lines: 4, accepted: 1, rejected: 3 });
    expect(report.rejectedLines.map((l: { line: number; code: string; fields: string[] }) => [l.line, l.code, l.fields])).toEqual([
      [1, 'BODY_NOT_UTF8', ['(line)']],
      [2, 'BODY_NOT_UTF8', ['(line)']],
      [3, 'BODY_NOT_UTF8', ['traits.name']],
    ]);
    expect(report.rejectedLines[0].message).toMatch(new RegExp(`^line 1 is not UTF-8 text: byte ${latin1('Müller').indexOf(0xfc)} of the line \\(0xFC\\)`));
    // kept in the quarantine byte for byte: two names, not one
    const kept = await Promise.all(
      report.rejectedLines.slice(0, 2).map((l: { quarantineId: string }) => app.core.ports.quarantine.get(TENANT, l.quarantineId)),
    );
    expect(kept.map((e) => Buffer.from((e!.payload as { base64: string }).base64, 'base64'))).toEqual([
      latin1('Müller').subarray(0, -1),
      latin1('Møller').subarray(0, -1),
    ]);
    // only the good line's customer was stored
    expect((await live()).map((v) => Object.values(v.identifiers).map((i) => i.value))).toEqual([expect.arrayContaining(['u-ada'])]);
    expect(await c360('import', path, '--strict').then((x) => x.code)).toBe(1);
  });

  it('refuses a line holding a number that overflows a double (1e400) naming its path, never storing it as null', async () => {
    const path = await file(
      'overflow.ndjson',
      `{"type":"track","userId":"inf-2","event":"Score Computed","properties":{"score":1e400,"neg":-1e999}}\n${JSON.stringify(ada)}\n`,
    );
    const r = await c360('import', path, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ lines: 2, accepted: 1, rejected: 1 });
    expect(r.json().rejectedLines).toMatchObject([{ line: 1, code: 'VALIDATION_FAILED', fields: ['properties.score', 'properties.neg'] }]);
  });

  it('lists rejected lines in the human report', async () => {
    const path = await file('few.ndjson', `${JSON.stringify(ada)}\n{"type":"track"\n`);
    const r = await c360('import', path);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 lines: 1 accepted, 0 duplicates, 1 rejected \(quarantined\)/);
    expect(r.out).toMatch(/line 2: MALFORMED_JSON at \(line\) -> quarantine [0-9a-f-]{36}/);
    expect(await c360('import', path, '--strict').then((x) => x.code)).toBe(1);
  });

  it('maps CSV columns to call fields and reports bad rows by their first line', async () => {
    const csv = [
      'type,messageId,userId,traits.email,event,properties.revenue:number,context.consent.categoryPreferences.Marketing:boolean',
      'identify,c1,u-grace,grace@example.com,,,true',
      'track,c2,u-grace,,"Order\nCompleted",12.5,', // a quoted cell over two lines: the row starts on line 3
      'track,c3,u-grace,,Order Completed,abc,',
      'track,c4,u-grace,,Order Completed,20,,extra',
      'track,c5,u-grace,,,,',
      'track,c6,u-grace,,Order Completed,7.25,',
    ].join('\r\n');
    const r = await c360('import', await file('calls.csv', csv), '--source', 'crm', '--json');
    expect(r.code, r.err).toBe(0);
    const report = r.json();
    expect(report).toMatchObject({ format: 'csv', lines: 6, accepted: 3, rejected: 3 });
    expect(report.rejectedLines.map((l: { line: number; code: string; fields: string[] }) => [l.line, l.code, l.fields])).toEqual([
      [5, 'INVALID_CSV_CELL', ['properties.revenue']],
      [6, 'INVALID_CSV_ROW', ['(line)']],
      [7, 'VALIDATION_FAILED', ['event']],
    ]);
    const found = await app.core.queries.findByIdentifier(TENANT, 'user_id', 'u-grace');
    if (found.kind !== 'view') throw new Error(`not found: ${found.kind}`);
    expect(found.customer.orders.count).toBe(1); // "Order\nCompleted" is another event name
    expect(found.customer.orders.revenue).toEqual({ USD: 7.25 });
    expect(found.customer.consents.marketing?.status).toBe('granted');
    expect(Object.keys(found.customer.channels)).toContain('crm');
  });

  it('fails with one line naming the file or the column, exit 1', async () => {
    const missing = await c360('import', join(dir, 'nope.ndjson'));
    expect([missing.code, missing.err.trim()]).toEqual([1, `error: cannot read ${join(dir, 'nope.ndjson')}: no such file or directory`]);
    const header = await c360('import', await file('bad-header.csv', 'type,revenue:money\ntrack,1\n'));
    expect(header.code).toBe(1);
    expect(header.err.trim().split('\n').at(-1)).toMatch(/^error: .*bad-header\.csv: header column 2 "revenue:money": unknown type "money"/);
    expect(header.err).not.toMatch(/\n\s+at /);
  });
});

describe('c360 rebuild', () => {
  it('replays the log into the same read models, with progress', async () => {
    await c360('seed', '--customers', '8', '--orders', '20', '--events', '40', '--products', '5');
    const before = await views();
    const r = await c360('rebuild', '--json');
    expect(r.code, r.err).toBe(0);
    const stored = (await app.core.ports.store.readAll(TENANT, { limit: 100_000 })).events.length;
    expect(r.json()).toMatchObject({ tenant: TENANT, events: stored, docs: before.length });
    expect(JSON.parse(JSON.stringify(await views()))).toEqual(JSON.parse(JSON.stringify(before)));
    expect(r.err).toMatch(/rebuild: \d[\d,]* events folded into \d+ documents \(.*done\)/);
  });
});

describe('c360 quarantine', () => {
  const hold = (call: unknown) => app.core.quarantine.hold(TENANT, 'import', call, { code: 'INTERNAL_ERROR', message: 'the store was down', issues: [] });

  it('lists ids, times, codes and field paths, never the payload', async () => {
    await c360('import', await file('q.ndjson', '{"type":"track","userId":"secret-person@example.com"}\n'));
    const r = await c360('quarantine', 'list', '--json');
    expect(r.code).toBe(0);
    // named as the API's GET /v1/quarantine names its list
    expect(Object.keys(r.json())).toEqual(['tenant', 'items', 'next']);
    const items = r.json().items;
    expect(items).toEqual([
      expect.objectContaining({
        status: 'pending',
        source: 'import',
        code: 'VALIDATION_FAILED',
        fields: ['event'],
        receivedAt: expect.stringMatching(/^\d{4}-/),
      }),
    ]);
    expect(r.out).not.toContain('secret-person');
    const human = await c360('quarantine', 'list');
    expect(human.out).toMatch(/ID\s+RECEIVED\s+STATUS\s+SOURCE\s+CODE\s+FIELDS/);
    expect(human.out).toMatch(/pending\s+import\s+VALIDATION_FAILED\s+event/);
    expect(human.out).not.toContain('secret-person');
  });

  it('pages with --limit and --after, and filters by --status', async () => {
    for (let i = 0; i < 3; i++) await hold({ type: 'track', userId: `u${i}` });
    const first = (await c360('quarantine', 'list', '--limit', '2', '--json')).json();
    expect(first.items).toHaveLength(2);
    const second = (await c360('quarantine', 'list', '--limit', '2', '--after', first.next, '--json')).json();
    expect(second).toMatchObject({ items: [expect.anything()], next: null });
    expect((await c360('quarantine', 'list', '--status', 'replayed', '--json')).json().items).toEqual([]);
  });

  it('refuses an --after that is no entry of the quarantine (exit 2, naming the flag) rather than answer an empty page', async () => {
    const held = await hold({ type: 'track', userId: 'u-cursor' });
    for (const json of [[], ['--json']]) {
      const r = await c360('quarantine', 'list', '--after', 'nonsense', ...json);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /^error: option '--after <cursor>' argument 'nonsense' is invalid\. It is not the id of an entry in the quarantine of tenant "acme"/,
      );
      expect(r.out).toBe('');
    }
    // an entry's id, the last of a page, is a cursor, whatever its status
    const after = await c360('quarantine', 'list', '--after', held, '--status', 'replayed', '--json');
    expect([after.code, after.json().items]).toEqual([0, []]);
  });

  it('replays one entry after the cause is gone; a call refused again stays pending with exit 1', async () => {
    const good = await hold({ type: 'identify', messageId: 'q1', userId: 'u-late', traits: { email: 'late@example.com' } });
    const bad = await hold({ type: 'track', userId: 'u-late' });
    const ok = await c360('quarantine', 'replay', good);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(new RegExp(`${good}: replayed, now part of customer [0-9a-f-]{36}`));
    expect((await app.core.queries.findByIdentifier(TENANT, 'email', 'late@example.com')).kind).toBe('view');
    const again = await c360('quarantine', 'replay', bad, '--json');
    expect(again.code).toBe(1);
    expect(again.json()).toMatchObject({
      replayed: 0,
      stillPending: 1,
      results: [{ id: bad, status: 'pending', code: 'VALIDATION_FAILED', fields: ['event'] }],
    });
    expect((await c360('quarantine', 'list', '--status', 'replayed', '--json')).json().items.map((e: { id: string }) => e.id)).toEqual([good]);
  });

  it('replays every pending entry with --all', async () => {
    await hold({ type: 'identify', messageId: 'a1', userId: 'u-a' });
    await hold({ type: 'page', userId: 'u-a' }); // no messageId: a derived one
    const alias = await hold({ type: 'alias', userId: 'u-a' }); // previousId missing: refused again
    const r = await c360('quarantine', 'replay', '--all', '--json');
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ replayed: 2, stillPending: 1 });
    expect(r.json().results.find((x: { status: string }) => x.status === 'pending')).toMatchObject({ id: alias, fields: ['previousId'] });
    expect((await c360('quarantine', 'list', '--status', 'pending', '--json')).json().items.map((e: { id: string }) => e.id)).toEqual([alias]);
    const none = await c360('quarantine', 'replay', 'no-such-id');
    expect([none.code, none.err.trim()]).toEqual([1, 'error: QUARANTINE_ENTRY_NOT_FOUND at id: no quarantine entry no-such-id']);
  });

  it('replay --all refuses an overflowed amount again, and says why an unreadable line or a body excerpt is not replayed', async () => {
    const lines = ['{"type":"track","userId":"u-inf","event":"Order Completed","properties":{"total":1e400,"currency":"USD"}}', '{"type":"track", broken'];
    await c360('import', await file('inf.ndjson', `${lines.join('\n')}\n`));
    const tooLarge = { code: 'CALL_TOO_LARGE', message: 'the call is larger than the 32 KB limit', issues: [{ path: 'body', message: 'at most 32768 bytes' }] };
    const excerpt = await app.core.quarantine.hold(TENANT, 'web', { bytes: 5_242_880, kept: 9, text: '{"userId"' }, tooLarge, undefined, 'body');
    const r = await c360('quarantine', 'replay', '--all', '--json');
    expect(r.code).toBe(1);
    const { results, replayed, stillPending } = r.json();
    expect([replayed, stillPending]).toEqual([0, 3]);
    expect(results[0]).toMatchObject({ status: 'pending', code: 'VALIDATION_FAILED', fields: ['properties.total'] });
    expect(results[1]).toMatchObject({
      status: 'pending',
      code: 'NOT_REPLAYABLE',
      message: expect.stringMatching(/refused as MALFORMED_JSON \(line 2 is not valid JSON\)/),
    });
    expect(results[2]).toMatchObject({ id: excerpt, status: 'pending', code: 'NOT_REPLAYABLE' });
    expect(results[2].message).toMatch(/an excerpt \(the first 9 bytes\) of a 5,242,880-byte body refused as CALL_TOO_LARGE .*; it cannot be replayed/);
    const human = await c360('quarantine', 'replay', '--all');
    expect(human.out).toMatch(/: refused again, still pending: VALIDATION_FAILED at properties\.total/);
    expect(human.out).toContain(`${excerpt}: not replayed, still pending: NOT_REPLAYABLE: this entry keeps an excerpt`);
    expect(human.out).not.toMatch(/at \(root\)|at type/);
    expect((await views()).length).toBe(0);
  });
});

describe('usage errors', () => {
  it.each([
    [['seed', '--customers', 'many'], /option '--customers <n>' argument 'many' is invalid\. must be a whole number/],
    [['import'], /missing required argument 'file'/],
    [['import', 'x.csv', '--format', 'xml'], /argument 'xml' is invalid\. Allowed choices are ndjson, csv/],
    [['--tenant', 'Not_A_Tenant', 'rebuild'], /option '--tenant <tenant>' argument 'Not_A_Tenant' is invalid/],
    [['quarantine', 'replay'], /give the id of an entry to replay, or --all/],
    [['quarantine', 'replay', 'some-id', '--all'], /give an id or --all, not both/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['help', 'frobnicate'], /^error: unknown command 'frobnicate'\n/],
    [['quarantine', 'help', 'frobnicate'], /^error: unknown command 'frobnicate'\n/],
    [['seed', '--cutsomers', '5'], /unknown option '--cutsomers'/],
  ])('c360 %j exits 2 with a clear message', async (argv, message) => {
    const r = await c360(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  });

  it('adds the stack to a failure only in debug mode (C360_DEBUG=1)', async () => {
    debug = true;
    try {
      const r = await c360('quarantine', 'replay', 'no-such-id');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error: QUARANTINE_ENTRY_NOT_FOUND at id: no quarantine entry no-such-id\nDomainError: .*\n\s+at /);
    } finally {
      debug = false;
    }
  });

  it.each([
    [[], /Usage: c360 \[options\] \[command\]/],
    [['help'], /Usage: c360 \[options\] \[command\]/],
    [['--help'], /Usage: c360 \[options\] \[command\]/],
    [['help', 'import'], /Usage: c360 import .*properties\.revenue:number/s],
    [['import', '--help'], /Usage: c360 import .*properties\.revenue:number/s],
    [['quarantine'], /Usage: c360 quarantine .*list/s],
    [['help', 'quarantine'], /Usage: c360 quarantine .*list/s],
    [['quarantine', 'help', 'list'], /Usage: c360 quarantine list .*--after/s],
    [['quarantine', 'list', '--help'], /Usage: c360 quarantine list .*--after/s],
  ])('c360 %j is asking for help, not a usage error: the help on stdout, exit 0', async (argv, help) => {
    const r = await c360(...argv);
    expect(r.err).toBe('');
    expect(r.out).toMatch(help);
    expect(r.code).toBe(0);
    expect(opened).toBe(0);
  });

  it('never builds the core for a usage error or --help', async () => {
    await c360('seed', '--orders', '-1');
    const help = await c360('import', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/properties\.revenue:number/);
    expect(opened).toBe(0);
  });
});
