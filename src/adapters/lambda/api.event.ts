import type { FieldIssue } from '../../application/segment/segment.schema.js';
import { isMountPrefix } from '../http/mount-prefix.js';
import { InvalidLambdaEventError } from './lambda.event.js';

// API Gateway proxy events (REST payload format 1.0, HTTP API 2.0) -> a fetch Request, and the
// app's Response -> the result API Gateway expects. Only the fields read here are checked: API
// Gateway adds fields over time and fills others after its own configuration (authorizers, client
// certificates, custom domains), and none of those may make a real request fail.

export type ApiGatewayFormat = 'rest' | 'http';

/** What the api function answers: API Gateway's proxy result in the request's format. */
export type ApiResult = {
  readonly statusCode: number;
  readonly headers?: Record<string, string>;
  readonly multiValueHeaders?: Record<string, string[]>;
  readonly cookies?: string[];
  readonly body: string;
  readonly isBase64Encoded: boolean;
};

export type ApiRequest = {
  readonly format: ApiGatewayFormat;
  readonly requestId: string | undefined;
  readonly request: Request;
  /** what the client's path carries in front of the route path (stage, base path): '' or `/seg/...` */
  readonly mountPrefix: string;
  /**
   * 'base64' when the event says its body is base64 (isBase64Encoded) and it is not: the request
   * carries the body as sent, and the app refuses to read it (400 BODY_UNDECODABLE, quarantined on
   * the ingest routes) instead of decoding whatever base64 it could find in it
   */
  readonly bodyUndecodable?: 'base64' | undefined;
};

export type PathOptions = {
  /**
   * A prefix every request path carries in front of our routes: a custom domain's base path
   * mapping (`/api`), which API Gateway leaves in the path it hands over. Stripped when present.
   */
  readonly basePath?: string | undefined;
};

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Payload format 2.0 says so in `version`; everything else is read as a REST (1.0) event. */
const isHttpApiEvent = (event: Obj): boolean => event.version === '2.0' || 'rawPath' in event;

class Checker {
  readonly issues: FieldIssue[] = [];

  constructor(private readonly root: Obj) {}

  private at(path: string): { found: boolean; value: unknown } {
    let cur: unknown = this.root;
    for (const key of path.split('.')) {
      if (!isObject(cur) || !(key in cur)) return { found: false, value: undefined };
      cur = cur[key];
    }
    return { found: true, value: cur };
  }

  private check(path: string, ok: (v: unknown) => boolean, expected: string, required: boolean): unknown {
    const { found, value } = this.at(path);
    if (!found) {
      if (required) this.issues.push({ path, message: `required: ${expected}` });
      return undefined;
    }
    if (!ok(value)) {
      this.issues.push({ path, message: `expected ${expected}` });
      return undefined;
    }
    return value;
  }

  string(path: string, required = true): string | undefined {
    return this.check(path, (v) => typeof v === 'string', 'a string', required) as string | undefined;
  }

  /** present (API Gateway always sends the key) but possibly null: REST's maps */
  nullableMap(path: string, required = true): Obj | null | undefined {
    return this.check(path, (v) => v === null || isObject(v), 'an object or null', required) as Obj | null | undefined;
  }

  optionalBody(path: string): string | null | undefined {
    return this.check(path, (v) => v === null || typeof v === 'string', 'a string or null', false) as string | null | undefined;
  }

  optionalBoolean(path: string): boolean | undefined {
    return this.check(path, (v) => typeof v === 'boolean', 'a boolean', false) as boolean | undefined;
  }

  optionalStrings(path: string): string[] | undefined {
    return this.check(path, (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'), 'an array of strings', false) as string[] | undefined;
  }

  object(path: string): Obj | undefined {
    return this.check(path, isObject, 'an object', true) as Obj | undefined;
  }
}

/** `/prefix/rest` -> `/rest` when the path starts with the prefix as a whole segment */
const stripPrefix = (path: string, prefix: string | undefined): string => {
  if (!prefix || prefix === '/') return path;
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
};

/**
 * The route path from the path API Gateway hands over: without a named stage (an HTTP API's
 * rawPath carries it, `/prod/v1/identify`, when called on the execute-api host) and without the
 * configured base path (a custom domain's mapping, in both formats).
 */
export const routePath = (path: string, stage: string | undefined, options: PathOptions): string => {
  const withoutStage = stage && stage !== '$default' ? stripPrefix(path, `/${stage}`) : path;
  return stripPrefix(withoutStage, options.basePath);
};

/**
 * The part of the path the client sent that is not the route path: `/prod` for `/prod/console` routed
 * as `/console`. '' when the client's path does not end with the route path or the rest is not made
 * of plain path segments.
 */
export const mountPrefix = (seen: string, routed: string): string => {
  const tail = routed === '/' ? '' : routed;
  const full = routed === '/' ? seen.replace(/\/$/, '') : seen;
  if (!full.endsWith(tail)) return '';
  const prefix = full.slice(0, full.length - tail.length);
  return isMountPrefix(prefix) ? prefix : '';
};

const WITHOUT_BODY = new Set(['GET', 'HEAD']);

const headerValue = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

// a header value that Headers refuses (a control character from a hand-written test client) is
// dropped, not a reason to fail the request
const setHeader = (headers: Headers, name: string, value: string, append: boolean): void => {
  try {
    if (append) headers.append(name, value);
    else headers.set(name, value);
  } catch {
    // not a valid header name or value
  }
};

/** standard base64 with its padding, as API Gateway encodes (Buffer.from skips what is not base64 instead of refusing it) */
const isBase64 = (s: string): boolean => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

type EventBody = { readonly bytes: Uint8Array | undefined; readonly undecodable?: 'base64' | undefined };

const bodyOf = (method: string, body: string | null | undefined, base64: boolean | undefined): EventBody => {
  // API Gateway passes a body on any method; fetch refuses one on GET and HEAD, and no route reads it there
  if (body === undefined || body === null || body === '' || WITHOUT_BODY.has(method)) return { bytes: undefined };
  if (!base64) return { bytes: Buffer.from(body, 'utf8') };
  return isBase64(body) ? { bytes: Buffer.from(body, 'base64') } : { bytes: Buffer.from(body, 'utf8'), undecodable: 'base64' };
};

const hostOf = (domainName: unknown, headers: Headers): string => {
  const host = typeof domainName === 'string' && domainName ? domainName : headers.get('host');
  return host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : 'localhost';
};

const queryOf = (single: Obj | null | undefined, multi: Obj | null | undefined): string => {
  const params = new URLSearchParams();
  if (multi) {
    for (const [k, values] of Object.entries(multi)) if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') params.append(k, v);
  } else if (single) {
    for (const [k, v] of Object.entries(single)) if (typeof v === 'string') params.append(k, v);
  }
  return params.toString();
};

const toUrl = (host: string, path: string, query: string): string => {
  const url = new URL(`https://${host}`);
  // the path as given (already percent-encoded by the client); a bare `?` or `#` in it stays path
  url.pathname = path;
  url.search = query;
  return url.href;
};

export const apiRequestIdOf = (event: unknown): string | undefined => {
  const id = isObject(event) && isObject(event.requestContext) ? event.requestContext.requestId : undefined;
  return typeof id === 'string' ? id : undefined;
};

const restRequest = (event: Obj, options: PathOptions): ApiRequest => {
  const c = new Checker(event);
  const method = c.string('httpMethod');
  const path = c.string('path');
  const headersIn = c.nullableMap('headers', false);
  const multiHeaders = c.nullableMap('multiValueHeaders', false);
  const query = c.nullableMap('queryStringParameters');
  const multiQuery = c.nullableMap('multiValueQueryStringParameters', false);
  const body = c.optionalBody('body');
  const base64 = c.optionalBoolean('isBase64Encoded');
  const context = c.object('requestContext');
  const stage = c.string('requestContext.stage');
  if (c.issues.length > 0 || method === undefined || path === undefined || !context)
    throw new InvalidLambdaEventError('API Gateway REST API (payload format 1.0)', c.issues);
  const headers = new Headers();
  for (const [k, values] of Object.entries(multiHeaders ?? {}))
    if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') setHeader(headers, k, v, true);
  for (const [k, v] of Object.entries(headersIn ?? {})) {
    const value = headerValue(v);
    if (value !== undefined && !headers.has(k)) setHeader(headers, k, value, false);
  }
  // REST's path never carries the stage on the execute-api host; the check costs nothing if it does not
  const routed = routePath(path, stage, options);
  const url = toUrl(hostOf(context.domainName, headers), routed, queryOf(query, multiQuery));
  // the path the client asked for is requestContext.path: `/prod/...` on the execute-api host (where
  // `path` lacks the stage), `/basePath/...` on a custom domain
  const seen = typeof context.path === 'string' ? context.path : path;
  const sent = bodyOf(method.toUpperCase(), body, base64);
  return {
    format: 'rest',
    requestId: apiRequestIdOf(event),
    request: requestOf(url, method, headers, sent.bytes),
    mountPrefix: mountPrefix(seen, routed),
    ...(sent.undecodable ? { bodyUndecodable: sent.undecodable } : {}),
  };
};

const httpApiRequest = (event: Obj, options: PathOptions): ApiRequest => {
  const c = new Checker(event);
  const rawPath = c.string('rawPath');
  const rawQuery = c.string('rawQueryString', false);
  const headersIn = c.nullableMap('headers', false);
  const cookies = c.optionalStrings('cookies');
  const body = c.optionalBody('body');
  const base64 = c.optionalBoolean('isBase64Encoded');
  const context = c.object('requestContext');
  const method = c.string('requestContext.http.method');
  const stage = c.string('requestContext.stage', false);
  if (c.issues.length > 0 || rawPath === undefined || method === undefined || !context)
    throw new InvalidLambdaEventError('API Gateway HTTP API (payload format 2.0)', c.issues);
  const headers = new Headers();
  for (const [k, v] of Object.entries(headersIn ?? {})) {
    const value = headerValue(v);
    if (value !== undefined) setHeader(headers, k, value, false);
  }
  if (cookies && cookies.length > 0) setHeader(headers, 'cookie', cookies.join('; '), false);
  const routed = routePath(rawPath, stage, options);
  const url = toUrl(hostOf(context.domainName, headers), routed, rawQuery ?? '');
  const sent = bodyOf(method.toUpperCase(), body, base64);
  return {
    format: 'http',
    requestId: apiRequestIdOf(event),
    request: requestOf(url, method, headers, sent.bytes),
    mountPrefix: mountPrefix(rawPath, routed),
    ...(sent.undecodable ? { bodyUndecodable: sent.undecodable } : {}),
  };
};

const requestOf = (url: string, method: string, headers: Headers, body: Uint8Array | undefined): Request => {
  if (body) headers.set('content-length', String(body.byteLength));
  else headers.delete('content-length');
  return new Request(url, { method, headers, body: body ?? null });
};

/**
 * The request an API Gateway proxy event stands for. Throws InvalidLambdaEventError, naming the
 * fields, when the event is not one (another trigger wired to the function, a hand-made event).
 */
export const toApiRequest = (event: unknown, options: PathOptions = {}): ApiRequest => {
  if (!isObject(event)) throw new InvalidLambdaEventError('API Gateway proxy', [{ path: '(root)', message: 'expected an object' }]);
  return isHttpApiEvent(event) ? httpApiRequest(event, options) : restRequest(event, options);
};

const TEXTUAL = /^(text\/|application\/(json|[^;]*\+json|javascript|xml|[^;]*\+xml|x-www-form-urlencoded)|image\/svg\+xml)/i;

/** The app's response in the event's format: REST with multiValueHeaders, HTTP APIs with headers and cookies. */
export const toApiResult = async (format: ApiGatewayFormat, res: Response): Promise<ApiResult> => {
  const type = res.headers.get('content-type');
  const encoding = res.headers.get('content-encoding');
  const binary = (type !== null && !TEXTUAL.test(type)) || (encoding !== null && encoding !== 'identity');
  const body = binary ? Buffer.from(await res.arrayBuffer()).toString('base64') : await res.text();
  const cookies = res.headers.getSetCookie();
  if (format === 'rest') {
    const multiValueHeaders: Record<string, string[]> = {};
    res.headers.forEach((value, key) => {
      if (key !== 'set-cookie') multiValueHeaders[key] = [value];
    });
    if (cookies.length > 0) multiValueHeaders['set-cookie'] = cookies;
    return { statusCode: res.status, multiValueHeaders, body, isBase64Encoded: binary };
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((value, key) => {
    if (key !== 'set-cookie') headers[key] = value;
  });
  return { statusCode: res.status, headers, ...(cookies.length > 0 ? { cookies } : {}), body, isBase64Encoded: binary };
};
