import { describe, expect, it } from 'vitest';
import { memoryCliRig } from '../support/cli-runner.js';

// `c360 merge` and `c360 unmerge` in-process on an in-memory App: the manual identity operations
// of the API from the command line.

const TENANT = 'acme';
const rig = memoryCliRig(TENANT);
const { c360 } = rig;

const identify = async (anonymousId: string, email: string): Promise<string> => {
  const out = await rig.app.core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'crm'), {
    type: 'identify',
    messageId: `m-${anonymousId}`,
    anonymousId,
    traits: { email },
  });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};

describe('c360 merge and unmerge', () => {
  it('merges two customers, prints the unmerge that undoes it, undoes it, and then refuses a plain merge naming --force', async () => {
    const a = await identify('cli-a', 'a@cli.test');
    const b = await identify('cli-b', 'b@cli.test');
    const merged = await c360('merge', a, b, '--reason', 'same person', '--json');
    expect(merged.code, merged.err).toBe(0);
    const m = merged.json();
    expect(m).toMatchObject({ tenant: TENANT, survivorId: a, absorbedId: b, forced: false, duplicate: false });
    const explained = await rig.app.core.queries.explain(TENANT, a);
    if (explained.status !== 'active') throw new Error('expected an active customer');
    expect(explained.merges).toEqual([
      expect.objectContaining({ mergeId: m.mergeId, evidence: expect.objectContaining({ actor: expect.stringMatching(/^cli:/), reason: 'same person' }) }),
    ]);

    const undone = await c360('unmerge', a, '--', m.mergeId);
    expect(undone.code, undone.err).toBe(0);
    expect(undone.out).toContain(`merge ${m.mergeId} undone: ${b} is separate from ${a} again`);
    expect((await rig.app.core.queries.get360(TENANT, b)).kind).toBe('view');

    const refused = await c360('merge', a, b);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('DO_NOT_LINK');
    expect(refused.err).toContain('run it again with --force');
    const forced = await c360('merge', a, b, '--force', '--json');
    expect(forced.code, forced.err).toBe(0);
    expect(forced.json()).toMatchObject({ survivorId: a, absorbedId: b, forced: true });
  });

  it('an unmerge of a nested merge names the merge to undo first', async () => {
    const w = await identify('cli-w', 'w@cli.test');
    const x = await identify('cli-x', 'x@cli.test');
    const y = await identify('cli-y', 'y@cli.test');
    const m1 = (await c360('merge', x, y, '--json')).json().mergeId;
    const m2 = (await c360('merge', w, x, '--json')).json().mergeId;
    const r = await c360('unmerge', w, '--', m1);
    expect(r.code).toBe(1);
    expect(r.err).toContain('MERGE_NOT_UNDOABLE');
    expect(r.err).toContain(`Undo merge ${m2} on customer ${w} first`);
  });
});
