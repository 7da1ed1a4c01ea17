import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

// Real Lambda event shapes (test/fixtures/aws-lambda, copied from Powertools' test events; see its README) with our
// payload swapped in and everything else of the envelope kept as AWS sends it.

export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/aws-lambda');

type Json = Record<string, any>;

export const fixture = (name: string): Json => JSON.parse(readFileSync(resolve(FIXTURES, `${name}.json`), 'utf8')) as Json;

export type HttpRequest = {
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  readonly base64?: boolean;
};

export const basic = (writeKey: string): string => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
export const bearer = (token: string): string => `Bearer ${token}`;

const encodeBody = (r: HttpRequest): string | null => (r.body === undefined ? null : r.base64 ? Buffer.from(r.body).toString('base64') : r.body);

/** A REST API (payload format 1.0) event: one of the apigw-rest_* fixtures with our request in it. */
export const restEvent = (name: string, r: HttpRequest, requestId = `rest-${Math.random().toString(36).slice(2)}`): Json => {
  const e = fixture(name);
  // the fixture's own authorization header is not ours to send
  const kept = Object.fromEntries(
    Object.entries(e.headers as Record<string, string>).filter(([k]) => !/^(authorization|content-length|content-type)$/i.test(k)),
  );
  const headers = { ...kept, ...(r.headers ?? {}) };
  const query = r.query && Object.keys(r.query).length ? r.query : null;
  return {
    ...e,
    resource: '/{proxy+}',
    path: r.path,
    httpMethod: r.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query && Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])),
    pathParameters: { proxy: r.path.replace(/^\//, '') },
    requestContext: { ...e.requestContext, httpMethod: r.method, path: `/prod${r.path}`, resourcePath: '/{proxy+}', requestId },
    body: encodeBody(r),
    isBase64Encoded: r.base64 ?? false,
  };
};

/** An HTTP API (payload format 2.0) event: one of the apigw-http_* fixtures with our request in it. */
export const httpApiEvent = (name: string, r: HttpRequest, requestId = `http-${Math.random().toString(36).slice(2)}`): Json => {
  const e = fixture(name);
  const kept = Object.fromEntries(
    Object.entries(e.headers as Record<string, string>).filter(([k]) => !/^(authorization|content-length|content-type)$/i.test(k)),
  );
  const headers = { ...kept, ...Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) };
  return {
    ...e,
    routeKey: '$default',
    rawPath: r.path,
    rawQueryString: new URLSearchParams(r.query ?? {}).toString(),
    ...(r.query ? { queryStringParameters: r.query } : {}),
    headers,
    requestContext: { ...e.requestContext, routeKey: '$default', http: { ...e.requestContext.http, method: r.method, path: r.path }, requestId },
    ...(r.body === undefined ? {} : { body: encodeBody(r) }),
    isBase64Encoded: r.base64 ?? false,
  };
};

let sequence = 49590338271490256608559692538361571095921575989136588898n;

/** A Kinesis batch shaped like kinesis_stream.json, one record per payload (bytes or a JSON value). */
export const kinesisEvent = (records: readonly { readonly data: Uint8Array | unknown; readonly partitionKey?: string }[]): Json => {
  const template = fixture('kinesis_stream').Records[0] as Json;
  return {
    Records: records.map((r, i) => {
      const seq = String((sequence += 1000n));
      const bytes = r.data instanceof Uint8Array ? r.data : Buffer.from(JSON.stringify(r.data));
      return {
        ...template,
        kinesis: { ...template.kinesis, partitionKey: r.partitionKey ?? `pk-${i}`, sequenceNumber: seq, data: Buffer.from(bytes).toString('base64') },
        eventID: `shardId-000000000006:${seq}`,
      };
    }),
  };
};

export type StreamRecordLike = {
  readonly eventID?: string | undefined;
  readonly eventName?: string | undefined;
  readonly dynamodb?:
    | {
        readonly Keys?: Record<string, AttributeValue> | undefined;
        readonly NewImage?: Record<string, AttributeValue> | undefined;
        readonly SequenceNumber?: string | undefined;
        readonly SizeBytes?: number | undefined;
        readonly ApproximateCreationDateTime?: Date | number | undefined;
      }
    | undefined;
};

/** A DynamoDB Streams batch shaped like dynamodb_base.json around records read from a real stream. */
export const streamsEvent = (records: readonly StreamRecordLike[], eventSourceARN: string): Json => {
  const template = fixture('dynamodb_base').Records[0] as Json;
  return {
    Records: records.map((r) => ({
      ...template,
      eventID: r.eventID,
      eventName: r.eventName,
      eventSourceARN,
      dynamodb: {
        ApproximateCreationDateTime:
          r.dynamodb?.ApproximateCreationDateTime instanceof Date
            ? r.dynamodb.ApproximateCreationDateTime.getTime() / 1000
            : (r.dynamodb?.ApproximateCreationDateTime ?? template.dynamodb.ApproximateCreationDateTime),
        Keys: r.dynamodb?.Keys,
        NewImage: r.dynamodb?.NewImage,
        StreamViewType: 'NEW_IMAGE',
        SequenceNumber: r.dynamodb?.SequenceNumber,
        SizeBytes: r.dynamodb?.SizeBytes ?? 100,
      },
    })),
  };
};

/** Lines written to stdout while `run` runs (Powertools' logger and EMF metrics write there). */
export const captureStdout = async <T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> => {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await run(), lines };
  } finally {
    process.stdout.write = write;
  }
};

/** Lines written to stdout and stderr while `run` runs (Powertools' logger writes warnings and errors to stderr). */
export const captureOutput = async <T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> => {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((s) => s.write.bind(s));
  for (const s of streams)
    s.write = ((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    }) as typeof s.write;
  try {
    return { result: await run(), lines };
  } finally {
    streams.forEach((s, i) => (s.write = writes[i]!));
  }
};

/** What an EventBridge schedule hands its target (the documented "Scheduled Event" shape). */
export const scheduledEvent = (rule = 'c360-schedule'): Json => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  region: 'us-east-1',
  resources: [`arn:aws:events:us-east-1:123456789012:rule/${rule}`],
  detail: {},
});
