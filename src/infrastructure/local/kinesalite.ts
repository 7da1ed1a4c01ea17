import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

// kinesalite (Kinesis on an in-memory LevelDB) in this process, on a loopback port: for the
// tests' global setup and local runs. Streams become ACTIVE at once and the account-wide shard
// limit is lifted, since every test makes its own stream.

export type Kinesalite = { readonly endpoint: string; stop(): Promise<void> };

type KinesaliteOptions = { createStreamMs?: number; deleteStreamMs?: number; updateStreamMs?: number; shardLimit?: number };

export const startKinesalite = async (options: { readonly port?: number; readonly shardLimit?: number } = {}): Promise<Kinesalite> => {
  // no type declarations ship with kinesalite; its export is a factory of an http.Server
  const kinesalite = createRequire(import.meta.url)('kinesalite') as (o: KinesaliteOptions) => Server;
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: options.shardLimit ?? 10_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      (stopped ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections(); // keep-alive sockets of SDK clients would hold close() open
      })),
  };
};
