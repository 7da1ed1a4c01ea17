import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { HttpApp } from './app.js';

// The Node runtime for the app (npm start, `c360 serve`, tests). Lambda uses its own adapter.

export type RunningHttpServer = { readonly port: number; close(): Promise<void> };

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
    server.once('error', reject);
  });
