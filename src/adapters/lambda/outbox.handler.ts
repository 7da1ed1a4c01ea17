import type { RelayReport } from '../../application/engagement/engagement.relay.js';
import { parseEvent, scheduledEvent } from './lambda.event.js';
import { withInvocation, type LambdaContext, type LambdaTelemetry } from './lambda.telemetry.js';

// A scheduled EventBridge rule -> the engagement outbox relay: publishes the decisions whose first
// publish failed or was cut short. One invocation flushes pages until a page comes back short (all
// that is due now was seen) or too little of the invocation's time is left; the next tick resumes.

export type OutboxRelayPort = { flush(limit?: number): Promise<RelayReport> };

export type OutboxHandlerDeps = {
  readonly relay: OutboxRelayPort;
  readonly telemetry: LambdaTelemetry;
  /** entries per page (default 100) */
  readonly pageSize?: number | undefined;
  /** stop starting pages when less than this is left of the invocation (default 10 s) */
  readonly reserveMs?: number | undefined;
};

export type OutboxReport = RelayReport & { readonly pages: number };

export type OutboxHandler = (event: unknown, context?: LambdaContext) => Promise<OutboxReport>;

const seen = (r: RelayReport) => r.published + r.failed + r.discarded + r.waiting;

export const createOutboxHandler = (deps: OutboxHandlerDeps): OutboxHandler => {
  const { logger, metrics } = deps.telemetry;
  const pageSize = deps.pageSize ?? 100;
  const reserveMs = deps.reserveMs ?? 10_000;
  return (event, context) =>
    withInvocation(deps.telemetry, context, context?.awsRequestId, async () => {
      parseEvent(await scheduledEvent(), event, 'EventBridge scheduled');
      const total = { published: 0, failed: 0, discarded: 0, waiting: 0, pages: 0 };
      // the runtime's context has it; a test's may not
      const remaining = (context as { getRemainingTimeInMillis?: () => number } | undefined)?.getRemainingTimeInMillis;
      const timeLeft = () => remaining?.call(context) ?? Number.POSITIVE_INFINITY;
      for (;;) {
        const page = await deps.relay.flush(pageSize);
        total.pages++;
        total.published += page.published;
        total.failed += page.failed;
        total.discarded += page.discarded;
        total.waiting += page.waiting;
        if (seen(page) < pageSize || timeLeft() < reserveMs) break;
      }
      logger.info('outbox flushed', total);
      metrics.increment('outbox_published', total.published);
      metrics.increment('outbox_failed', total.failed);
      metrics.increment('outbox_discarded', total.discarded);
      return total;
    });
};
