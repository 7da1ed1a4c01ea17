/**
 * The Lambda handler factories: API Gateway (REST and HTTP APIs) through the HTTP API's routes,
 * Kinesis records into ingest, DynamoDB Streams into the 360 views. Each takes what it drives;
 * build it once per cold start, outside the handler.
 *
 * @module customer360-core/lambda
 */
import { checkCredentials, StaticAuthenticator, type CredentialSpec } from '../adapters/config/static-credentials.js';
import { createApiHandler, httpLogger, type ApiHandler } from '../adapters/lambda/api.handler.js';
import { createTelemetry, type Counters } from '../adapters/lambda/lambda.telemetry.js';
import type { Core } from '../application/core.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { syncIntake } from '../application/ingest/intake.js';
import { defaultSourceOf } from './embed.js';

export { createApiHandler, httpLogger, type ApiHandler, type ApiHandlerOptions, type ApiResult, type FetchApp } from '../adapters/lambda/api.handler.js';
export { createKinesisHandler, type KinesisHandler, type KinesisHandlerDeps } from '../adapters/lambda/kinesis.handler.js';
export { createStreamsHandler, type StreamsHandler, type StreamsHandlerDeps } from '../adapters/lambda/streams.handler.js';
export {
  createTelemetry,
  type BatchResponse,
  type Counters,
  type LambdaContext,
  type LambdaTelemetry,
  type TelemetryOptions,
} from '../adapters/lambda/lambda.telemetry.js';
export type { HttpLogger } from '../adapters/http/http.deps.js';

export type ApiFunctionOptions = {
  readonly core: Core;
  /**
   * write keys (ingest) and bearer tokens (reads, GDPR, admin); at least one. Checked as the server
   * checks a credentials file: a known kind and scopes, a tenant of lower-case letters, digits and
   * dashes, a secret of at least 16 characters, and no id or secret twice (a TypeError names the field).
   */
  readonly credentials: readonly CredentialSpec[];
  /** the ingest source a credential's `source` names; default: priority 0 on the web channel */
  readonly sourceOf?: ((tenant: string, name: string) => IngestSource) | undefined;
  /** a custom domain's base path mapping (`/api`), stripped from request paths */
  readonly basePath?: string | undefined;
  /** Powertools' service name and metrics namespace; default c360-api / c360 */
  readonly serviceName?: string | undefined;
  readonly metricsNamespace?: string | undefined;
};

/**
 * An API Gateway handler serving the HTTP API over `core`. The HTTP app (Hono and the routes'
 * schemas) is loaded by the first request, so a cold start pays for it only when it is asked for.
 */
export const createApiFunction = (options: ApiFunctionOptions): ApiHandler => {
  if (options.credentials.length === 0) throw new Error('credentials: none given, so every request would be refused (401)');
  const { core } = options;
  const metrics: Counters = 'snapshot' in core.ports.metrics ? (core.ports.metrics as Counters) : { snapshot: () => ({}) };
  const telemetry = createTelemetry({ serviceName: options.serviceName ?? 'c360-api', namespace: options.metricsNamespace ?? 'c360', counters: metrics });
  const auth = new StaticAuthenticator(checkCredentials(options.credentials));
  const sourceOf = options.sourceOf ?? defaultSourceOf;
  const build = async () => {
    const { createHttpApp } = await import('../adapters/http/app.js');
    return createHttpApp({ core, intake: syncIntake(core.ingest), auth, sourceOf, metrics, now: Date.now, logger: httpLogger(telemetry) });
  };
  let app: ReturnType<typeof build> | undefined;
  // a failed build is tried again by the next request, not kept
  const built = () =>
    (app ??= build().catch((e: unknown) => {
      app = undefined;
      throw e;
    }));
  return createApiHandler(built, telemetry, { basePath: options.basePath });
};
