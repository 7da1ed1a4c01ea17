import * as grpc from '@grpc/grpc-js';
import featuresGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import featuresPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as pbTypes from '@eventstore/db-client/generated/streams_pb.js';
import { StandInLog } from './log.js';
import { appendHandler, deleteHandler, tombstoneHandler } from './write-handlers.js';
import { readHandler } from './read-handler.js';

// A small EventStoreDB stand-in speaking the real gRPC protocol with the client's own service
// definitions, so the adapter is exercised through @eventstore/db-client exactly as in production.
// Loopback only, insecure (the client connects with ?tls=false).

export type StandIn = { readonly connectionString: string; readonly log: StandInLog; stop(): Promise<void> };

const STREAMS = 'event_store.client.streams.Streams';
// BatchAppend is not advertised (nor implemented), so the client falls back to Streams.Append.
const ADVERTISED: readonly [string, string][] = [
  [STREAMS, 'read'],
  [STREAMS, 'append'],
  [STREAMS, 'delete'],
  [STREAMS, 'tombstone'],
  ['event_store.client.server_features.ServerFeatures', 'getsupportedmethods'],
];

export const startStandIn = async (options: { readonly maxAppendSize?: number } = {}): Promise<StandIn> => {
  const log = new StandInLog(options.maxAppendSize);
  const server = new grpc.Server();
  server.addService(featuresGrpc.ServerFeaturesService, {
    getSupportedMethods: (_call: unknown, callback: grpc.sendUnaryData<featuresPb.SupportedMethods>) => {
      const reply = new featuresPb.SupportedMethods();
      reply.setEventStoreServerVersion('24.10.0-standin');
      reply.setMethodsList(
        ADVERTISED.map(([service, method]) => {
          const m = new featuresPb.SupportedMethod();
          m.setServiceName(service);
          m.setMethodName(method);
          return m;
        }),
      );
      callback(null, reply);
    },
  });
  const unimplemented = (_call: unknown, callback: (e: Partial<grpc.StatusObject>) => void): void =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'BatchAppend is not implemented by the stand-in' });
  server.addService(streamsGrpc.StreamsService, {
    read: readHandler(log),
    append: appendHandler(log),
    delete: deleteHandler(log),
    tombstone: tombstoneHandler(log),
    batchAppend: (call: grpc.ServerDuplexStream<pbTypes.BatchAppendReq, pbTypes.BatchAppendResp>) => unimplemented(call, (e) => call.emit('error', e)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        // open client streams must not keep the test run alive
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
};
