import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { cliConfig } from '../../src/infrastructure/cli.js';
import { withLocalSecrets } from '../../src/infrastructure/local/secrets.js';
import { runCliInProcess } from '../support/cli-runner.js';
import { appBackend, startApi, type Api } from '../support/http-fixture.js';

// A batch's refused calls are kept in one entry, several people's; an erasure takes the erased
// person's calls out of it. What an operator then reads of the entry over HTTP and the CLI, and
// what a replay of it answers, name each remaining call by its index in the request, as the
// batch's answer named it, and say so: an issue path batch[1] is about the call whose "refused"
// record says index 1, which is batch[0] of the entry once the call before it was taken out.

describe.each(['memory', 'sqlite'] as const)('replaying a batch entry an erasure rewrote (%s store, HTTP and CLI)', (store) => {
  let dir: string;
  let app: App;
  let api: Api;
  const c360 = (...argv: string[]) => runCliInProcess(argv, { tenant: api.tenants.acme, open: async () => app });
  const admin = (method: string, path: string) => api.request(method, path, { token: api.keys.acmeAdmin });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `c360-rewritten-${store}-`));
    app = await buildApp(withLocalSecrets(cliConfig({ C360_STORE: store, C360_DATA_DIR: dir, C360_TENANT: 'acme' }, 'job')).config);
    api = await startApi(async () => appBackend(app));
  });
  afterAll(async () => {
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows and replays the calls left by their index in the request, saying so in the entry and in the answers', async () => {
    const gina = await api.send('identify', { userId: 'gina-rw', messageId: 'gina-rw-id', traits: { email: 'gina-rw@example.com' } });
    expect(gina.status, gina.text).toBe(200);
    // Gina's and Hank's calls lack their event (refused), Ivy's is stored
    const hank = { type: 'track', userId: 'hank-rw', messageId: 'hank-rw-1', traits: { email: 'hank-rw@example.com' } };
    const batch = await api.request('POST', '/v1/batch', {
      writeKey: api.keys.acmeWrite,
      json: { batch: [{ type: 'track', userId: 'gina-rw', messageId: 'gina-rw-1' }, hank, { type: 'identify', userId: 'ivy-rw', messageId: 'ivy-rw-1' }] },
    });
    expect(batch.body.invalid.map((i: { index: number }) => i.index)).toEqual([0, 1]);
    const id: string = batch.body.quarantineId;

    const erased = await admin('DELETE', `/v1/customers/${gina.body.customerId}`);
    expect(erased.status, erased.text).toBe(200);
    expect(erased.body.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });

    // the entry as the API shows it: Hank's call is batch[0] of the entry, index 1 of the request, and the entry says which is which
    const listed = await admin('GET', '/v1/quarantine?limit=500&payload=true');
    const entry = listed.body.items.find((i: { id: string }) => i.id === id);
    expect(entry.payload.batch).toEqual([hank]);
    expect(entry.payload.refused.map((r: { index: number }) => r.index)).toEqual([1]);
    expect(entry.reason.issues).toEqual([expect.objectContaining({ path: 'batch[1].event' })]);
    expect(entry.reason.message).toMatch(
      /^2 of the 3 calls of a batch were refused \(kept in "batch" in request order; "refused" holds, at the same place, each one's index in the request/,
    );
    expect(entry.reason.message).toMatch(/the calls left keep their index in the request, in "refused" and in the issue paths\)$/);
    expect(JSON.stringify(entry)).not.toContain('gina-rw');

    // replayed over HTTP: refused again, the same call named the same way, and the answer says how
    const http = await admin('POST', `/v1/quarantine/${id}/replay`);
    expect(http.status).toBe(422);
    expect(http.body.error).toMatchObject({ code: 'REPLAY_REJECTED', cause: 'BATCH_CALLS_REFUSED', issues: [{ path: 'batch[1].event' }] });
    expect(http.body.error.message).toMatch(/the issue paths name each call by its index in the request, as the entry's "refused" does/);

    // and with the CLI, on the same store
    const json = await c360('quarantine', 'replay', id, '--json');
    expect(json.code).toBe(1);
    expect(json.json().results).toEqual([
      {
        id,
        status: 'pending',
        code: 'BATCH_CALLS_REFUSED',
        fields: ['batch[1].event'],
        message: expect.stringMatching(/name each call by its index in the request/),
      },
    ]);
    const human = await c360('quarantine', 'replay', id);
    expect(human.out).toContain(`${id}: refused again, still pending: BATCH_CALLS_REFUSED at batch[1].event (each call by its index in the request)`);
    const list = await c360('quarantine', 'list', '--json');
    expect(list.json().items.find((i: { id: string }) => i.id === id)).toMatchObject({
      fields: ['batch[1].event'],
      message: expect.stringMatching(/keep their index in the request/),
    });
    expect((await admin('GET', '/v1/quarantine?limit=500')).body.items.find((i: { id: string }) => i.id === id).status).toBe('pending');
  });
});
