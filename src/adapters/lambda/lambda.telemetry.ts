import { Logger } from '@aws-lambda-powertools/logger';
import { EmfMetrics } from '../metrics/emf.metrics.js';

// What every Lambda adapter shares: a Powertools logger with correlation ids and EMF metrics
// flushed once per invocation. Logs carry ids, codes and counts only: never personal values,
// payloads, query strings or error messages (which may quote input).

/** the Lambda context object, as Powertools' logger reads it */
export type LambdaContext = Parameters<Logger['addContext']>[0];

/** what ReportBatchItemFailures expects back from a stream (Kinesis, DynamoDB Streams) handler */
export type BatchResponse = { readonly batchItemFailures: { readonly itemIdentifier: string }[] };

export type Counters = { snapshot(): Readonly<Record<string, number>> };

export type LambdaTelemetry = {
  readonly logger: Logger;
  readonly metrics: EmfMetrics;
  /**
   * the core's own counters (App.metrics); what they gained during an invocation is added to its
   * EMF document. Lambda runs one invocation at a time per environment, so the difference is exact.
   */
  readonly counters?: Counters | undefined;
};

export type TelemetryOptions = {
  readonly serviceName?: string | undefined;
  readonly namespace?: string | undefined;
  readonly counters?: Counters | undefined;
};

export const createTelemetry = (options: TelemetryOptions = {}): LambdaTelemetry => ({
  logger: new Logger({ serviceName: options.serviceName }),
  metrics: EmfMetrics.create({ namespace: options.namespace, serviceName: options.serviceName }),
  counters: options.counters,
});

/** The name, code and field paths of an error: the only parts of it that are safe to log. */
export const errorFields = (e: unknown): Record<string, unknown> => {
  if (typeof e !== 'object' || e === null) return { errorName: typeof e };
  const x = e as { name?: unknown; code?: unknown; Code?: unknown; issues?: unknown };
  const code = x.code ?? x.Code;
  const paths = Array.isArray(x.issues) ? x.issues.flatMap((i: { path?: unknown }) => (typeof i?.path === 'string' ? [i.path] : [])).slice(0, 10) : [];
  return {
    errorName: typeof x.name === 'string' ? x.name : 'Error',
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...(paths.length > 0 ? { issuePaths: paths } : {}),
  };
};

/** Runs one invocation: correlation id on every log line, metrics flushed at the end, keys reset. */
export const withInvocation = async <T>(
  telemetry: LambdaTelemetry,
  context: LambdaContext | undefined,
  correlationId: string | undefined,
  run: () => Promise<T>,
): Promise<T> => {
  const { logger, metrics, counters } = telemetry;
  if (context) logger.addContext(context);
  if (correlationId !== undefined) logger.setCorrelationId(correlationId);
  const before = counters?.snapshot();
  try {
    return await run();
  } catch (e) {
    logger.error('invocation failed', errorFields(e));
    metrics.increment('lambda_invocation_failed');
    throw e;
  } finally {
    if (counters && before) {
      for (const [name, value] of Object.entries(counters.snapshot())) metrics.increment(name, value - (before[name] ?? 0));
    }
    metrics.flush();
    logger.resetKeys();
  }
};
