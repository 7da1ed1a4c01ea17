import { errorBody } from '../http/errors.js';
import type { HttpLogger } from '../http/http.deps.js';
import { apiRequestIdOf, toApiRequest, toApiResult, type ApiRequest, type ApiResult, type PathOptions } from './api.event.js';
import { InvalidLambdaEventError } from './lambda.event.js';
import { errorFields, withInvocation, type LambdaContext, type LambdaTelemetry } from './lambda.telemetry.js';

// API Gateway -> the same Hono routes as the Node server. One handler serves REST APIs (payload
// format 1.0) and HTTP APIs (2.0). An event that is not an API Gateway proxy event at all gets a
// JSON 400 naming the fields (the function is wired to the wrong trigger); anything that fails on
// our side is a JSON 500 with the request id, never a 4xx that blames the caller.

export type { ApiResult } from './api.event.js';
export type ApiHandler = (event: unknown, context?: LambdaContext) => Promise<ApiResult>;

/** what the handler needs of the HTTP app: Hono's fetch (env: what a route may read of the invocation) */
export type FetchApp = { fetch(request: Request, env?: unknown): Response | Promise<Response> };

export type ApiHandlerOptions = PathOptions;

const jsonResult = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
  isBase64Encoded: false,
});

/** The HTTP app's log sink on the Powertools logger (so its lines carry the correlation id too). */
export const httpLogger = (telemetry: LambdaTelemetry): HttpLogger => ({
  info: (msg, fields) => telemetry.logger.info(msg, fields ?? {}),
  warn: (msg, fields) => telemetry.logger.warn(msg, fields ?? {}),
  error: (msg, fields) => telemetry.logger.error(msg, fields ?? {}),
});

/** `app`: the HTTP app, or how to get it (built on the first request that needs it). */
export const createApiHandler = (
  app: FetchApp | (() => FetchApp | Promise<FetchApp>),
  telemetry: LambdaTelemetry,
  options: ApiHandlerOptions = {},
): ApiHandler => {
  const { logger, metrics } = telemetry;
  const appOf = typeof app === 'function' ? app : () => app;
  return (event, context) => {
    const requestId = apiRequestIdOf(event) ?? context?.awsRequestId;
    return withInvocation(telemetry, context, requestId, async () => {
      let api: ApiRequest;
      try {
        api = toApiRequest(event, options);
      } catch (e) {
        if (!(e instanceof InvalidLambdaEventError)) return failed(e);
        logger.error('api event refused', errorFields(e));
        metrics.increment('api_event_invalid');
        return jsonResult(400, errorBody(e.code, e.message, e.issues));
      }
      let result: ApiResult;
      try {
        // mountPrefix: the stage and base path the routing stripped, for links the browser can follow
        // bodyUndecodable: a base64 body that is not base64, refused by the app's body reader
        const env = { event, lambdaContext: context, mountPrefix: api.mountPrefix, bodyUndecodable: api.bodyUndecodable };
        const res = await (await appOf()).fetch(api.request, env);
        result = await toApiResult(api.format, res);
      } catch (e) {
        // the app renders its own errors; this is only reached when something beneath it broke
        result = failed(e);
      }
      metrics.increment(result.statusCode >= 500 ? 'api_response_5xx' : result.statusCode >= 400 ? 'api_response_4xx' : 'api_response_2xx');
      return result;
    });

    function failed(e: unknown): ApiResult {
      logger.error('api invocation failed', errorFields(e));
      return jsonResult(500, errorBody('INTERNAL_ERROR', `something went wrong on our side; the request id is ${requestId ?? 'unknown'}`));
    }
  };
};
