import { S3Client } from '@aws-sdk/client-s3';
import { S3LakeWriter } from '../../adapters/lake/s3.lake-writer.js';
import type { LakeRun } from '../../adapters/lambda/lake.handler.js';
import { markLakeClean } from '../../application/lake/lake-clean.js';
import { LakeProjector } from '../../application/lake/lake.projector.js';
import type { App } from '../app.js';

// What the lake function's invocations run: the S3 client, the pure-JS Parquet writer and the
// projection. lake.function.ts imports this module on the first invocation, not at the cold start
// (in the bundle it is a chunk of its own): the S3 client's schemas and hyparquet(-writer) are
// about half of the function's code, and nothing before an invocation uses them.

export type LakeTarget = {
  readonly bucket: string;
  readonly prefix: string;
  readonly versioned: boolean;
  readonly flushEvents: number;
  /** a local S3 (tests): path-style addressing */
  readonly endpoint?: string | undefined;
};

/** The function's S3 client (one for all its invocations) and, per invocation, a run over a fresh writer. */
export const lakeRunner = (app: App, target: LakeTarget): (() => LakeRun) => {
  const client = new S3Client(target.endpoint ? { endpoint: target.endpoint, forcePathStyle: true } : {});
  const store = app.core.ports.store;
  const { clock, ledger } = app.core.ports;
  return () => {
    const writer = new S3LakeWriter({
      client,
      bucket: target.bucket,
      prefix: target.prefix,
      versioned: target.versioned,
      clock: () => clock.now(),
    });
    const projector = new LakeProjector(store, writer, { pageSize: Math.min(5_000, target.flushEvents), flushEvery: target.flushEvents });
    return {
      catchUp: (tenant, options) => projector.catchUp(tenant, options),
      rebuild: (tenant, options) => projector.rebuild(tenant, options),
      // the erasure receipts (written by the api function, which holds no lake) learn when the lake is clean
      markClean: async (tenant) => markLakeClean(ledger, tenant, await writer.erasedIds(tenant), new Date(clock.now()).toISOString()),
    };
  };
};
