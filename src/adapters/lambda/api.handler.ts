import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas/api-gateway';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import { handle } from 'hono/aws-lambda';
import type { HttpApp } from '../http/app.js';
import { errorBody } from '../http/errors.js';
import type { HttpLogger } from '../http/http.deps.js';
import { InvalidLambdaEventError, parseEvent } from './lambda.event.js';
import { errorFields, withInvocation, type LambdaContext, type LambdaTelemetry } from './lambda.telemetry.js';

// API Gateway -> the same Hono routes as the Node server. One handler serves REST APIs (payload
// format 1.0) and HTTP APIs (2.0); the event is checked against Powertools' schema of its format
// first, so a malformed event gets a JSON error naming the fields instead of a half-built request.

/** what hono's adapter answers: headers or multiValueHeaders after the event's format */
export type ApiResult = Awaited<ReturnType<ReturnType<typeof handle>>>;
export type ApiHandler = (event: unknown, context?: LambdaContext) => Promise<ApiResult>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Payload format 2.0 says so in `version`; everything else is read as a REST (1.0) event. */
const isHttpApiEvent = (event: Record<string, unknown>): boolean => event.version === '2.0' || 'rawPath' in event;

const jsonResult = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
  isBase64Encoded: false,
});

const requestIdOf = (event: unknown): string | undefined => {
  const ctx = isObject(event) ? event.requestContext : undefined;
  const id = isObject(ctx) ? ctx.requestId : undefined;
  return typeof id === 'string' ? id : undefined;
};

/** The HTTP app's log sink on the Powertools logger (so its lines carry the correlation id too). */
export const httpLogger = (telemetry: LambdaTelemetry): HttpLogger => ({
  info: (msg, fields) => telemetry.logger.info(msg, fields ?? {}),
  warn: (msg, fields) => telemetry.logger.warn(msg, fields ?? {}),
  error: (msg, fields) => telemetry.logger.error(msg, fields ?? {}),
});

export const createApiHandler = (app: HttpApp, telemetry: LambdaTelemetry): ApiHandler => {
  const toHono = handle(app);
  const { logger, metrics } = telemetry;
  return (event, context) => {
    const requestId = requestIdOf(event) ?? context?.awsRequestId;
    return withInvocation(telemetry, context, requestId, async () => {
      try {
        if (!isObject(event)) throw new InvalidLambdaEventError('API Gateway proxy', [{ path: '(root)', message: 'expected an object' }]);
        if (isHttpApiEvent(event)) parseEvent(APIGatewayProxyEventV2Schema, event, 'API Gateway HTTP API (payload format 2.0)');
        else parseEvent(APIGatewayProxyEventSchema, event, 'API Gateway REST API (payload format 1.0)');
      } catch (e) {
        if (!(e instanceof InvalidLambdaEventError)) throw e;
        logger.error('api event refused', errorFields(e));
        metrics.increment('api_event_invalid');
        return jsonResult(400, errorBody(e.code, e.message, e.issues));
      }
      let result: ApiResult;
      try {
        // validated above: hono reads only fields that both formats promise
        result = await toHono(event as unknown as Parameters<typeof toHono>[0], context as Parameters<typeof toHono>[1]);
      } catch (e) {
        // the app renders its own errors; this is only reached when something beneath it broke
        logger.error('api invocation failed', errorFields(e));
        result = jsonResult(500, errorBody('INTERNAL_ERROR', `something went wrong on our side; the request id is ${requestId ?? 'unknown'}`));
      }
      metrics.increment(result.statusCode >= 500 ? 'api_response_5xx' : result.statusCode >= 400 ? 'api_response_4xx' : 'api_response_2xx');
      return result;
    });
  };
};
