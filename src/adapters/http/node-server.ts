import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpApp } from './app.js';
import { readingBodyOn, requestTimedOut } from './body.js';
import { errorBody } from './errors.js';

// The Node runtime for the app (npm start, `c360 serve`, tests). Lambda uses its own adapter.

export type RunningHttpServer = { readonly port: number; close(): Promise<void> };

/**
 * How long a client has to send a request: its headers within HEADERS_TIMEOUT_MS, the whole request
 * (headers and body) within REQUEST_TIMEOUT_MS of its first byte; checked every
 * TIMEOUT_CHECK_INTERVAL_MS. A client that stalls is answered 408 and the connection closed (Node's
 * defaults, 60 s and 300 s checked every 30 s, let a stalled body hold a connection for minutes);
 * one stalled in a body a route is reading is answered by that route, and an ingest route keeps
 * what arrived in the quarantine and answers its quarantineId.
 * 120 s carries a full 500 KB batch at about 4 KB/s (a poor mobile link); a stalled connection is
 * still let go in minutes, not Node's five.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 120_000;
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export type HttpServerOptions = {
  readonly port: number;
  readonly hostname: string;
  /** defaults HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS (tests shorten them) */
  readonly headersTimeoutMs?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
};

/**
 * Requests Node refuses before the app sees them (headers over its limit, a request that is not
 * HTTP/1.1) get a JSON error like every other answer, instead of Node's empty one.
 */
const answerClientError = (err: Error & { code?: string }, socket: Duplex): void => {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // a body cut short that a route is reading: the route answers, with the quarantineId of what it
  // kept, and closes the connection (body.ts)
  if (err.code === 'HPE_INVALID_EOF_STATE' && readingBodyOn(socket)) return;
  // a body that stalled past the request timeout while a route reads it: the read stops with what
  // arrived, and the route answers the 408 with the quarantineId of what it kept (body.ts)
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && requestTimedOut(socket)) return;
  const [status, reason, body] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ([
          431,
          'Request Header Fields Too Large',
          errorBody('HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts; send fewer or shorter headers'),
        ] as const)
      : err.code === 'HPE_INVALID_EOF_STATE'
        ? ([
            400,
            'Bad Request',
            errorBody('BODY_INCOMPLETE', 'the request body ended before its Content-Length; send the whole body', [
              { path: 'content-length', message: 'more than the bytes sent' },
            ]),
          ] as const)
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ([
              408,
              'Request Timeout',
              errorBody('REQUEST_TIMEOUT', 'the request did not arrive in time; send its headers and body without pausing', [
                { path: 'body', message: 'not received in time' },
              ]),
            ] as const)
          : ([400, 'Bad Request', errorBody('MALFORMED_REQUEST', 'the request is not valid HTTP/1.1')] as const);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
};

export const startHttpServer = (app: HttpApp, options: HttpServerOptions): Promise<RunningHttpServer> =>
  new Promise((resolve, reject) => {
    const headersTimeout = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const serverOptions = {
      headersTimeout: Math.min(headersTimeout, requestTimeout),
      requestTimeout,
      connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, headersTimeout),
    };
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname, serverOptions }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((e) => (e ? fail(e) : done()));
            // idle keep-alive connections would hold close() open until they time out
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    });
    server.on('clientError', answerClientError);
    server.once('error', reject);
  });
