import type { CorePorts } from '../deps.js';
import type { Notification, Notifier } from '../ports/notifier.port.js';
import type { Outbox, OutboxEntry } from '../ports/outbox.port.js';
import { backoffMs, deliver, RELAY_GRACE_MS } from './engagement.delivery.js';

// Publishes what the outbox still holds: decisions whose publish failed (due again after their
// backoff) and entries whose attempt stopped between staging and publishing (a crash, a timeout).
// Those are confirmed against the log first, and the notification is rebuilt from the stored
// event, so what goes out is exactly what was recorded; one that never got committed is dropped.

export type RelayReport = { readonly published: number; readonly failed: number; readonly discarded: number; readonly waiting: number };

export type RelayDeps = { readonly notifier: Notifier; readonly outbox: Outbox };

const BATCH = 100;

export class EngagementRelay {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

  constructor(
    private readonly ports: Pick<CorePorts, 'store' | 'clock' | 'metrics' | 'keys'>,
    private readonly deps: RelayDeps | undefined,
  ) {}

  /** One pass over the due entries (at most `limit`). */
  async flush(limit = BATCH): Promise<RelayReport> {
    const report = { published: 0, failed: 0, discarded: 0, waiting: 0 };
    if (!this.deps) return report;
    const now = this.ports.clock.now();
    for (const listed of await this.deps.outbox.due(now, limit)) {
      // the listing may be a little stale (an index): act on the entry as it is now
      const entry = await this.deps.outbox.get(listed.tenant, listed.decisionId);
      if (entry?.status !== 'pending' || entry.nextAttemptAt > now) continue;
      // an erased customer (data key destroyed) gets nothing more, even a decision made before
      if ((await this.ports.keys.get(entry.tenant, entry.customerId)) === null) {
        await this.deps.outbox.discard(entry.tenant, entry.decisionId, 'erased');
        this.ports.metrics.increment('engagement_outbox_discarded');
        report.discarded++;
        continue;
      }
      // a confirmed entry too: what goes out is the decision the log holds, whichever attempt staged the entry
      const ready = await this.confirm(entry, now);
      if (ready === 'discarded') report.discarded++;
      else if (ready === 'waiting') report.waiting++;
      else if (await deliver(this.ports, this.deps, ready, now)) report.published++;
      else report.failed++;
    }
    return report;
  }

  /** Keeps flushing every `intervalMs` until stop(); failures wait for the next round. */
  start(intervalMs = 1_000): void {
    if (!this.deps || !this.stopped) return;
    this.stopped = false;
    const tick = () => {
      this.running = this.flush()
        .catch(() => this.ports.metrics.increment('engagement_failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async confirm(entry: OutboxEntry, now: number): Promise<OutboxEntry | 'discarded' | 'waiting'> {
    const { deps } = this;
    const events = await this.ports.store.readStream(entry.tenant, entry.customerId, Math.max(0, entry.version - 1));
    const stored = events.find((e) => e.eventId === entry.eventId);
    const data = stored?.data as { outcome?: string; offerId?: string; offerTitle?: string; channel?: string } | undefined;
    // an attempt staged a send and lost its commit to one that decided otherwise: nothing to send
    if (stored && data?.outcome !== 'sent') {
      await deps!.outbox.discard(entry.tenant, entry.decisionId);
      this.ports.metrics.increment('engagement_outbox_discarded');
      return 'discarded';
    }
    if (stored && data) {
      const notification: Notification = {
        ...entry.notification,
        offerId: data.offerId ?? entry.notification.offerId,
        offerTitle: data.offerTitle ?? entry.notification.offerTitle,
        channel: data.channel ?? entry.notification.channel,
        decidedAt: stored.observedAt,
      };
      return { ...entry, notification, confirmed: true };
    }
    // confirmed by the attempt that committed it: sent as staged
    if (entry.confirmed) return entry;
    // an erased customer gets nothing more; a commit that never landed leaves nothing to send
    if (events.some((e) => e.type === 'CustomerErased') || now - entry.createdAt >= 2 * RELAY_GRACE_MS) {
      await deps!.outbox.discard(entry.tenant, entry.decisionId);
      this.ports.metrics.increment('engagement_outbox_discarded');
      return 'discarded';
    }
    await deps!.outbox.reschedule(entry.tenant, entry.decisionId, { attempts: entry.attempts, nextAttemptAt: now + backoffMs(1), confirmed: false });
    return 'waiting';
  }
}
