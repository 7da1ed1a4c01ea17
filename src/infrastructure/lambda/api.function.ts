import { RotatingAuthenticator } from '../../adapters/config/rotating-authenticator.js';
import type { HttpDeps } from '../../adapters/http/http.deps.js';
import { createApiHandler, httpLogger, type ApiHandler, type FetchApp } from '../../adapters/lambda/api.handler.js';
import type { App } from '../app.js';
import { ConfigError } from '../config.js';
import { loadCredentials } from '../credentials.js';
import { telemetryFor, type Env } from './function-start.js';

/**
 * API Gateway REST and HTTP APIs through the HTTP app's routes, over a built App. Without any
 * credential every request would be refused (401): the function refuses to start instead.
 */
export const apiFunction = (app: App, options: { readonly openApiDocument?: HttpDeps['openApiDocument']; readonly env?: Env } = {}): ApiHandler => {
  // credentials from a Secrets Manager secret (C360_CREDENTIALS_SECRET_ID) are checked as they load
  if (loadCredentials(app.config).length === 0 && !(app.auth instanceof RotatingAuthenticator))
    throw new ConfigError(
      'no credentials configured, so every request would be refused: set C360_CREDENTIALS_SECRET_ID (a Secrets Manager secret holding {"credentials": [...]}, what the CDK app sets on Lambda), C360_CREDENTIALS_FILE, C360_WRITE_KEY (ingest) or C360_ADMIN_TOKEN (every scope)',
    );
  const telemetry = telemetryFor('c360-api', app, options.env ?? process.env);
  const { core, intake, auth, sourceOf, metrics } = app;
  let http: Promise<FetchApp> | undefined;
  const build = async () => {
    const { createHttpApp } = await import('../../adapters/http/app.js');
    const consoleOptions = app.config.consoleSessionKey ? { sessionKey: app.config.consoleSessionKey } : undefined;
    return createHttpApp({
      core,
      intake,
      auth,
      sourceOf,
      metrics,
      now: Date.now,
      anonymousRateLimitPerSecond: app.config.anonymousRateLimitPerSecond,
      openApiDocument: options.openApiDocument,
      logger: httpLogger(telemetry),
      console: consoleOptions,
    });
  };
  // a failed build is tried again by the next request, not kept
  const built = () =>
    (http ??= build().catch((e: unknown) => {
      http = undefined;
      throw e;
    }));
  return createApiHandler(built, telemetry, { basePath: app.config.basePath });
};
