import { describe, expect, it } from 'vitest';
import type { OutboxRetry } from '../../../src/application/ports/outbox.port.js';
import { MemoryOutbox } from '../../../src/adapters/memory/memory.outbox.js';
import { outboxContract, outboxEntry } from '../../contract/outbox.contract.js';
import { decisionEvents, interestCall, makeEngagementHarness, viewOfUser } from '../../support/engagement-harness.js';

// The outbox: a decision is stored first and published after; while the notifier is down the
// decision stays stored and pending, and it goes out once the notifier is back. Exactly one
// decision event per trigger whatever happens to the publish.

outboxContract('memory', () => new MemoryOutbox());

const T = 'acme';
const SECOND = 1_000;

/** An outbox whose writes after staging are lost while `crashed`: the process died before them. */
class CrashingOutbox extends MemoryOutbox {
  crashed = false;
  override async reschedule(tenant: string, decisionId: string, retry: OutboxRetry): Promise<void> {
    if (!this.crashed) await super.reschedule(tenant, decisionId, retry);
  }
  override async markPublished(tenant: string, decisionId: string, at: number): Promise<void> {
    if (!this.crashed) await super.markPublished(tenant, decisionId, at);
  }
}

describe('engagement outbox', () => {
  it('keeps the decision while the notifier fails 3 times, retries with backoff, and publishes it once it is back', async () => {
    const h = makeEngagementHarness();
    h.notifier.failNext(3);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    const [decision] = await decisionEvents(h, T);
    expect(decision).toMatchObject({ outcome: 'sent', offerId: 'electronics-1' });
    expect(h.notifier.published).toEqual([]);
    const pending = () => h.outbox.all()[0]!;
    expect(pending()).toMatchObject({
      status: 'pending',
      confirmed: true,
      attempts: 1,
      nextAttemptAt: h.clock.now() + SECOND,
      lastError: expect.stringContaining('unavailable'),
    });

    // not due yet: the relay leaves it alone
    expect(await h.core.engagement.relay.flush()).toEqual({ published: 0, failed: 0, discarded: 0, waiting: 0 });
    h.clock.advance(SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ failed: 1 });
    expect(pending()).toMatchObject({ attempts: 2, nextAttemptAt: h.clock.now() + 2 * SECOND });
    h.clock.advance(2 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ failed: 1 });
    expect(pending()).toMatchObject({ attempts: 3, nextAttemptAt: h.clock.now() + 4 * SECOND });
    h.clock.advance(4 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ published: 1 });

    expect(h.notifier.published).toEqual([expect.objectContaining({ decisionId: decision!.decisionId, offerId: 'electronics-1', channel: 'email' })]);
    expect(pending()).toMatchObject({ status: 'published', attempts: 3 });
    expect(h.notifier.calls).toBe(4);
    // still one decision for the one trigger, and nothing more to send
    expect(await decisionEvents(h, T)).toHaveLength(1);
    h.clock.advance(3_600 * SECOND);
    expect(await h.core.engagement.relay.flush()).toEqual({ published: 0, failed: 0, discarded: 0, waiting: 0 });
    expect(h.notifier.published).toHaveLength(1);
  });

  it('caps the backoff at 5 minutes however long the notifier stays down', async () => {
    const h = makeEngagementHarness();
    h.notifier.failNext(20);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    for (let i = 0; i < 15; i++) {
      h.clock.advance(5 * 60 * SECOND);
      await h.core.engagement.relay.flush();
    }
    expect(h.outbox.all()[0]).toMatchObject({ status: 'pending', attempts: 16, nextAttemptAt: h.clock.now() + 5 * 60 * SECOND });
    for (let i = 0; i < 5; i++) {
      h.clock.advance(5 * 60 * SECOND);
      await h.core.engagement.relay.flush();
    }
    expect(h.notifier.published).toHaveLength(1);
  });

  it('publishes a decision whose process died between commit and publish, from the stored event, after the grace period', async () => {
    const outbox = new CrashingOutbox();
    const h = makeEngagementHarness({ outbox });
    outbox.crashed = true;
    h.notifier.failNext(1);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    outbox.crashed = false;
    const [staged] = outbox.all();
    expect(staged).toMatchObject({ status: 'pending', confirmed: false });
    h.clock.advance(10 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ published: 0 });
    h.clock.advance(20 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ published: 1 });
    const [decision] = await decisionEvents(h, T);
    expect(h.notifier.published).toEqual([
      {
        decisionId: decision!.decisionId,
        tenant: T,
        customerId: (await viewOfUser(h, T, 'u-1')).customerId,
        channel: 'email',
        offerId: 'electronics-1',
        offerTitle: 'Headphones 15% off',
        decidedAt: decision!.observedAt,
      },
    ]);
  });

  it('drops a staged entry whose decision never got committed: nothing is published for it', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: false }));
    const customerId = (await viewOfUser(h, T, 'u-1')).customerId;
    // staged by an attempt that then lost its commit and died before it could clean up
    await h.outbox.stage(outboxEntry(T, 'never-committed', { customerId, version: 99, createdAt: h.clock.now(), nextAttemptAt: h.clock.now() + 30 * SECOND }));
    h.clock.advance(30 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ waiting: 1 });
    h.clock.advance(30 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ discarded: 1 });
    expect(h.outbox.all()).toEqual([]);
    expect(h.notifier.calls).toBe(0);
  });

  it('drops a staged send whose decision was committed suppressed (an attempt that lost its commit to one that decided otherwise)', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: false }));
    const customerId = (await viewOfUser(h, T, 'u-1')).customerId;
    const [suppressed] = await decisionEvents(h, T);
    expect(suppressed).toMatchObject({ outcome: 'suppressed' });
    // staged as a send under the committed decision's id and event id, by the attempt that lost
    await h.outbox.stage(
      outboxEntry(T, suppressed!.decisionId as string, {
        customerId,
        eventId: suppressed!.eventId as string,
        version: 1,
        createdAt: h.clock.now(),
        nextAttemptAt: h.clock.now() + 30 * SECOND,
      }),
    );
    h.clock.advance(30 * SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ discarded: 1, published: 0 });
    expect(h.outbox.all()).toEqual([]);
    expect(h.notifier.calls).toBe(0);
  });

  it('publishes what the log decided, not what the entry holds: a confirmed entry restaged by an attempt that lost', async () => {
    const h = makeEngagementHarness();
    h.notifier.failNext(1);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    const [decision] = await decisionEvents(h, T);
    const [committed] = h.outbox.all();
    expect(committed).toMatchObject({ confirmed: true, notification: { offerId: decision!.offerId, channel: decision!.channel } });
    // another attempt at the call staged its own choice over it before the publish failed and confirmed the row
    await h.outbox.discard(T, committed!.decisionId, 'erased');
    await h.outbox.stage({
      ...committed!,
      confirmed: false,
      attempts: 0,
      notification: { ...committed!.notification, offerId: 'electronics-5', offerTitle: 'Screens 5% off', channel: 'push' },
    });
    await h.outbox.reschedule(T, committed!.decisionId, { attempts: 1, nextAttemptAt: h.clock.now() + SECOND, confirmed: true });
    h.clock.advance(SECOND);
    expect(await h.core.engagement.relay.flush()).toMatchObject({ published: 1 });
    expect(h.notifier.published).toEqual([
      expect.objectContaining({ decisionId: committed!.decisionId, offerId: decision!.offerId, channel: decision!.channel }),
    ]);
  });

  it('runs as a background loop until stopped', async () => {
    const h = makeEngagementHarness();
    h.notifier.failNext(1);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    h.clock.advance(SECOND);
    h.core.engagement.relay.start(5);
    for (let i = 0; i < 200 && h.notifier.published.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await h.core.engagement.relay.stop();
    expect(h.notifier.published).toHaveLength(1);
  });
});
