import { z } from 'zod';
import { InvalidLambdaEventError, parseEvent, scheduledEvent } from './lambda.event.js';
import { errorFields, withInvocation, type LambdaContext, type LambdaTelemetry } from './lambda.telemetry.js';

// A scheduled EventBridge rule -> the lake projection: each tenant's lake catches up from its own
// checkpoint to the end of the log, or as far as the invocation's time allows (the projection
// flushes every so many events; the next tick resumes from the last flush). An event whose detail
// names tenants to rebuild (`{"rebuild": ["acme"]}`, a rule's input or a manual invoke) writes
// their lakes again from the start of the log; one cut short is finished by the next ticks. A tenant that fails is logged and the others still run; the
// invocation then fails naming the tenants (an alarm on the function's errors sees it), and the
// next tick resumes each from its checkpoint (rows already written are skipped).

type Progress = Promise<{ readonly events: number; readonly caughtUp: boolean }>;

export type LakeRun = {
  /** catches the tenant up, stopping after a flush when `stop` says so */
  catchUp(tenant: string, options: { readonly stop: () => boolean }): Progress;
  /** drops the tenant's lake and writes it again from the start of the log (the erased ids stay barred) */
  rebuild(tenant: string, options: { readonly stop: () => boolean }): Progress;
  /** after the tenant's run: marks the erasure receipts whose customers the lake now holds no row of; how many */
  markClean?(tenant: string): Promise<number>;
};

/** An event's detail may ask for a rebuild of some of the function's tenants: `{"rebuild": ["acme"]}`. */
const Detail = z.object({ rebuild: z.array(z.string().min(1)).min(1).optional() });

export type LakeHandlerDeps = {
  /**
   * a projection over a fresh writer, per invocation: its state (checkpoint, dimensions) is read from
   * the lake, never kept from an earlier one (a promise where what it runs on is loaded on first use)
   */
  readonly start: () => LakeRun | Promise<LakeRun>;
  readonly tenants: readonly string[];
  readonly telemetry: LambdaTelemetry;
  /** stop starting tenants, and stop a tenant at its next flush, when less than this is left of the invocation (default 60 s) */
  readonly reserveMs?: number | undefined;
};

export type LakeReport = {
  /** each tenant: the events projected, and whether it reached the end of its log (else the next tick resumes it) */
  readonly tenants: readonly { readonly tenant: string; readonly events: number; readonly caughtUp: boolean }[];
  readonly events: number;
};

export type LakeHandler = (event: unknown, context?: LambdaContext) => Promise<LakeReport>;

export class LakeCatchUpError extends Error {
  override readonly name = 'LakeCatchUpError';
}

export const createLakeHandler = (deps: LakeHandlerDeps): LakeHandler => {
  const { logger, metrics } = deps.telemetry;
  return (event, context) =>
    withInvocation(deps.telemetry, context, context?.awsRequestId, async () => {
      const { detail } = parseEvent(await scheduledEvent(), event, 'EventBridge scheduled');
      const rebuild = new Set(parseEvent(Detail, detail ?? {}, 'lake schedule detail').rebuild ?? []);
      const unknown = [...rebuild].filter((t) => !deps.tenants.includes(t));
      if (unknown.length > 0)
        throw new InvalidLambdaEventError('lake schedule detail', [{ path: 'rebuild', message: `not a tenant of this function: ${unknown.join(', ')}` }]);
      const run = await deps.start();
      // the runtime's context has it; a test's may not
      const remaining = (context as { getRemainingTimeInMillis?: () => number } | undefined)?.getRemainingTimeInMillis;
      const stop = () => (remaining?.call(context) ?? Number.POSITIVE_INFINITY) < (deps.reserveMs ?? 60_000);
      const done: { tenant: string; events: number; caughtUp: boolean }[] = [];
      const failed: string[] = [];
      for (const tenant of deps.tenants) {
        if (stop()) {
          done.push({ tenant, events: 0, caughtUp: false });
          continue;
        }
        try {
          const r = rebuild.has(tenant) ? await run.rebuild(tenant, { stop }) : await run.catchUp(tenant, { stop });
          done.push({ tenant, events: r.events, caughtUp: r.caughtUp });
        } catch (e) {
          failed.push(tenant);
          logger.error('lake catch-up failed', { tenant, ...errorFields(e) });
          continue;
        }
        // the receipts: a failure here leaves them unmarked until the next run, and the lake work stands
        try {
          const marked = (await run.markClean?.(tenant)) ?? 0;
          if (marked > 0) logger.info('erasure receipts marked lake-clean', { tenant, receipts: marked });
        } catch (e) {
          metrics.increment('lake_receipts_unmarked');
          logger.warn('erasure receipts not marked lake-clean; the next run tries again', { tenant, ...errorFields(e) });
        }
      }
      const report = { tenants: done, events: done.reduce((n, t) => n + t.events, 0) };
      logger.info('lake caught up', report);
      metrics.increment('lake_events_projected', report.events);
      if (failed.length > 0) {
        metrics.increment('lake_tenants_failed', failed.length);
        throw new LakeCatchUpError(`lake catch-up failed for ${failed.length} tenant(s): ${failed.join(', ')}`);
      }
      return report;
    });
};
