import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpApp } from './app.js';
import { errorBody } from './errors.js';

// The Node runtime for the app (npm start, `c360 serve`, tests). Lambda uses its own adapter.

export type RunningHttpServer = { readonly port: number; close(): Promise<void> };

/**
 * Requests Node refuses before the app sees them (headers over its limit, a request that is not
 * HTTP/1.1) get a JSON error like every other answer, instead of Node's empty one.
 */
const answerClientError = (err: Error & { code?: string }, socket: Duplex): void => {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
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
          ? ([408, 'Request Timeout', errorBody('MALFORMED_REQUEST', 'the request did not arrive in time')] as const)
          : ([400, 'Bad Request', errorBody('MALFORMED_REQUEST', 'the request is not valid HTTP/1.1')] as const);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
};

export const startHttpServer = (app: HttpApp, options: { readonly port: number; readonly hostname: string }): Promise<RunningHttpServer> =>
  new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname }, (info: AddressInfo) => {
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
