import { describe, expect, it } from 'vitest';
import { CommandPipeline, RETRY, type AfterCommit, type BeforeCommit, type Command } from '../../../src/application/commands/command-pipeline.js';
import { PendingStream } from '../../../src/application/commands/pending-stream.js';
import type { CommitResult, EventStore } from '../../../src/application/ports/event-store.port.js';
import { initialState } from '../../../src/domain/customer/customer.state.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { domainError, TENANT } from './ingest-support.js';

// The one write pipeline: what every use case leaves to it (idempotency, lock, retry, commit,
// cache, after-commit) is proven here once, on a command that registers a customer.

const register = (id: string, onConflict?: () => Promise<void>) => () =>
  Promise.resolve({
    kind: 'write' as const,
    streams: [registered(id)],
    onConflict,
    committed: (recorded: readonly unknown[]) => ({ id, events: recorded.length }),
  });

const registered = (id: string) => {
  const p = new PendingStream(initialState(id), (s, i) => `${s}.${i}`);
  p.run({ type: 'Register', customerId: id, observedAt: 1 }, { observedAt: 1, source: 'test', sourcePriority: 0, channel: 'other' });
  return p;
};

/** The harness's store, with `commit` answered by `fake` (the rest reads the real store). */
const storeWith = (h: Harness, fake: (real: EventStore['commit'], c: Parameters<EventStore['commit']>[0]) => Promise<CommitResult>): EventStore => {
  const real = h.ports.store;
  return new Proxy(real, {
    get: (target, key) =>
      key === 'commit' ? (c: Parameters<EventStore['commit']>[0]) => fake(target.commit.bind(target), c) : (Reflect.get(target, key, target) as unknown),
  });
};

const pipelineOf = (h: Harness, store: EventStore = h.ports.store, afterCommit?: AfterCommit, beforeCommit?: BeforeCommit) =>
  new CommandPipeline({ ...h.ports, store }, h.core.repo, h.core.codec, afterCommit, beforeCommit);

/** An after-commit step that logs how many events it was handed and whether they carried an annex. */
const loggingAfter =
  (log: string[]): AfterCommit =>
  async (_t, events, annexed) =>
    void log.push(`after ${events.length} ${annexed}`);

/** A before-commit step that adds `events` copies of each stream's first event and `records` idempotency keys, logging what it does. */
const annexing =
  (log: string[], events: number, records: number, fail = false): BeforeCommit =>
  async (_tenant, streams) => {
    for (const p of streams) {
      const first = p.recorded[0]!;
      p.push(
        Array.from({ length: events }, () => first.event),
        () => ({ observedAt: 2, source: 'annex', sourcePriority: 0, channel: 'other' }),
        (i) => `${p.before.id}.annex.${i}`,
      );
    }
    if (fail) throw new Error('annex failed');
    log.push('annexed');
    return {
      records: Array.from({ length: records }, (_, i) => ({ key: `annex-${i}`, payloadHash: `h-${i}` })),
      landed: async () => void log.push('landed'),
    };
  };

describe('the command pipeline', () => {
  it('commits the decision, remembers the new state and runs the after-commit step with the recorded events', async () => {
    const h = makeHarness();
    const seen: string[] = [];
    const out = await pipelineOf(h, undefined, async (_t, events) => void seen.push(...events.map((e) => e.event.type))).run({
      tenant: TENANT,
      name: 'register',
      decide: register('c-1'),
    });
    expect(out).toEqual({ id: 'c-1', events: 1 });
    expect(seen).toEqual(['CustomerRegistered']);
    expect((await h.ports.store.readStream(TENANT, 'c-1')).map((e) => e.type)).toEqual(['CustomerRegistered']);
    expect((await h.core.repo.load(TENANT, 'c-1')).version).toBe(1);
  });

  it("commits a before-commit annex with the write: its events on the write's stream, its records beside the command's, its landed step after the after-commit step", async () => {
    const h = makeHarness();
    const log: string[] = [];
    const after = loggingAfter(log);
    const out = await pipelineOf(h, undefined, after, annexing(log, 1, 2)).run({ tenant: TENANT, name: 'register', decide: register('c-1') });
    expect(out).toEqual({ id: 'c-1', events: 2 });
    expect(log).toEqual(['annexed', 'after 2 true', 'landed']);
    expect((await h.ports.store.readStream(TENANT, 'c-1')).map((e) => e.eventId)).toEqual(['c-1.0', 'c-1.annex.0']);
    for (const i of [0, 1]) await expect(h.ports.store.getIdempotency(TENANT, `annex-${i}`, h.clock.now())).resolves.toMatchObject({ payloadHash: `h-${i}` });
  });

  it('drops an annex that makes the commit too large and commits the write as it was', async () => {
    const h = makeHarness();
    const log: string[] = [];
    const after = loggingAfter(log);
    // one event and 100 records: one item over DynamoDB's transaction limit, which every store keeps
    const out = await pipelineOf(h, undefined, after, annexing(log, 0, 100)).run({ tenant: TENANT, name: 'register', decide: register('c-1') });
    expect(out).toEqual({ id: 'c-1', events: 1 });
    expect(log).toEqual(['annexed', 'after 1 false']);
    await expect(h.ports.store.getIdempotency(TENANT, 'annex-0', h.clock.now())).resolves.toBeUndefined();
    // and an annex whose events overflow it is taken back out of the write's streams too
    const log2: string[] = [];
    await pipelineOf(h, undefined, undefined, annexing(log2, 100, 0)).run({ tenant: TENANT, name: 'register', decide: register('c-2') });
    expect(log2).toEqual(['annexed']);
    expect((await h.ports.store.readStream(TENANT, 'c-2')).map((e) => e.eventId)).toEqual(['c-2.0']);
  });

  it('commits the write as it was when its before-commit step fails, and counts the failure', async () => {
    const h = makeHarness();
    const log: string[] = [];
    const after = loggingAfter(log);
    await pipelineOf(h, undefined, after, annexing(log, 1, 1, true)).run({ tenant: TENANT, name: 'register', decide: register('c-1') });
    expect(log).toEqual(['after 1 false']);
    expect((await h.ports.store.readStream(TENANT, 'c-1')).map((e) => e.eventId)).toEqual(['c-1.0']);
    expect(h.ports.metrics.snapshot().annex_failed).toBe(1);
  });

  it('answers a recorded idempotency key without deciding, and hands the stored hash to the command', async () => {
    const h = makeHarness();
    const p = pipelineOf(h);
    let decided = 0;
    const cmd = (payloadHash: string): Command<string> => ({
      tenant: TENANT,
      name: 'register',
      idempotency: { key: 'k-1', payloadHash, duplicate: (stored) => `duplicate of ${stored}` },
      decide: async () => {
        decided++;
        return { kind: 'write', streams: [registered(`c-${payloadHash}`)], committed: () => 'committed' };
      },
    });
    expect(await p.run(cmd('h1'))).toBe('committed');
    expect(await p.run(cmd('h1'))).toBe('duplicate of h1');
    expect(await p.run(cmd('h2'))).toBe('duplicate of h1');
    expect(decided).toBe(1);
  });

  it('decides again on fresh state after a lost race, undoing what was staged, and gives up after the retry policy with CONCURRENCY_CONFLICT', async () => {
    const h = makeHarness();
    let commits = 0;
    let undone = 0;
    const losing = storeWith(h, async () => (commits++, { status: 'conflict', current: { streams: {}, claims: {} } }));
    const run = pipelineOf(h, losing).run({
      tenant: TENANT,
      name: 'the test command',
      subject: ['customerId'],
      decide: register('c-2', async () => void undone++),
    });
    const e = await domainError(run);
    expect(e.code).toBe('CONCURRENCY_CONFLICT');
    expect(e.path).toEqual(['customerId']);
    expect(e.message).toContain('the test command gave up after');
    expect(commits).toBe(RETRY.maxAttempts);
    expect(undone).toBe(RETRY.maxAttempts);
    expect(h.ports.metrics.get('commit_conflict_retry')).toBe(RETRY.maxAttempts);
    expect(await h.ports.store.readStream(TENANT, 'c-2')).toEqual([]);
  });

  it('wins after losing some races: one commit lands, exactly once', async () => {
    const h = makeHarness();
    let lost = 0;
    const flaky = storeWith(h, async (real, c) => (lost < 3 ? (lost++, { status: 'conflict', current: { streams: {}, claims: {} } }) : real(c)));
    expect(await pipelineOf(h, flaky).run({ tenant: TENANT, name: 'register', decide: register('c-3') })).toEqual({ id: 'c-3', events: 1 });
    expect(await h.ports.store.readStream(TENANT, 'c-3')).toHaveLength(1);
    expect(h.ports.metrics.get('commit_conflict_retry')).toBe(3);
  });

  it('keeps a commit whose after-commit step failed, and counts the failure', async () => {
    const h = makeHarness();
    const out = await pipelineOf(h, undefined, async () => {
      throw new Error('projection down');
    }).run({ tenant: TENANT, name: 'register', decide: register('c-4') });
    expect(out).toEqual({ id: 'c-4', events: 1 });
    expect(h.ports.metrics.get('projection_failed')).toBe(1);
    expect(await h.ports.store.readStream(TENANT, 'c-4')).toHaveLength(1);
  });

  it('runs commands sharing a lock key one after another, in call order, and others alongside', async () => {
    const h = makeHarness();
    const p = pipelineOf(h);
    const log: string[] = [];
    const cmd = (name: string, keys: string[], id: string): Command<string> => ({
      tenant: TENANT,
      name,
      lockKeys: keys,
      decide: async () => {
        log.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`${name} end`);
        return { kind: 'answer', result: id };
      },
    });
    await Promise.all([p.run(cmd('a', ['k'], '1')), p.run(cmd('b', ['k'], '2')), p.run(cmd('c', ['other'], '3'))]);
    expect(log.indexOf('a end')).toBeLessThan(log.indexOf('b start'));
    expect(log.indexOf('c start')).toBeLessThan(log.indexOf('a end'));
  });
});
