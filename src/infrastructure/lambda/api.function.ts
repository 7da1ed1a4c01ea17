import { createHttpApp } from '../../adapters/http/app.js';
import type { HttpDeps } from '../../adapters/http/http.deps.js';
import { createApiHandler, httpLogger, type ApiHandler } from '../../adapters/lambda/api.handler.js';
import type { App } from '../app.js';
import { telemetryFor, type Env } from './functions.js';

/** API Gateway REST and HTTP APIs through the HTTP app's routes, over a built App. */
export const apiFunction = (app: App, options: { readonly openApiDocument?: HttpDeps['openApiDocument']; readonly env?: Env } = {}): ApiHandler => {
  const telemetry = telemetryFor('c360-api', app, options.env ?? process.env);
  const { core, intake, auth, sourceOf, metrics } = app;
  const http = createHttpApp({ core, intake, auth, sourceOf, metrics, now: Date.now, openApiDocument: options.openApiDocument, logger: httpLogger(telemetry) });
  return createApiHandler(http, telemetry);
};
