import type { CorePorts } from '../deps.js';
import type { Notifier } from '../ports/notifier.port.js';
import type { Outbox, OutboxEntry } from '../ports/outbox.port.js';

// One publish attempt of a committed decision, and what the outbox learns from it: published, or
// due again after a backoff that doubles per failure (1 s, 2 s, 4 s ... at most 5 min).

/** the source stamped on decision events */
export const ENGAGEMENT_SOURCE = 'engagement';
/** how long a staged entry is left to the attempt that staged it before the relay looks at it */
export const RELAY_GRACE_MS = 30_000;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

export const backoffMs = (attempts: number): number => Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));

const reasonOf = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 500);

/** Publishes a confirmed entry; true when the notifier acknowledged it. Never throws for the notifier. */
export const deliver = async (
  ports: Pick<CorePorts, 'clock' | 'metrics'>,
  deps: { readonly notifier: Notifier; readonly outbox: Outbox },
  entry: OutboxEntry,
  now: number,
): Promise<boolean> => {
  try {
    await deps.notifier.publish(entry.notification);
  } catch (e) {
    const attempts = entry.attempts + 1;
    ports.metrics.increment('engagement_publish_failed');
    await deps.outbox.reschedule(entry.tenant, entry.decisionId, {
      attempts,
      nextAttemptAt: now + backoffMs(attempts),
      confirmed: true,
      lastError: reasonOf(e),
    });
    return false;
  }
  await deps.outbox.markPublished(entry.tenant, entry.decisionId, ports.clock.now());
  ports.metrics.increment('engagement_published');
  return true;
};
