import { z } from 'zod';
import { createLakeHandler, type LakeHandler, type LakeRun } from '../../adapters/lambda/lake.handler.js';
import type { App } from '../app.js';
import { ConfigError } from '../config.js';
import { telemetryFor, type Env } from './function-start.js';

// The lake function: a schedule -> each tenant's lake on S3 caught up from its checkpoint, written
// by the pure-JS writer (no DuckDB in this bundle). Its own variables:
//   C360_LAKE_BUCKET   the lake's bucket (required)
//   C360_LAKE_PREFIX   a key prefix inside it, '' or ending in '/' (default '')
//   C360_LAKE_TENANTS  the tenants it projects, comma-separated (default C360_TENANT)
//   C360_LAKE_VERSIONED  the bucket keeps old versions: an erasure deletes the tenant's old
//                      versions too (default true; false where the S3 keeps none, e.g. fauxqs)
//   C360_LAKE_FLUSH_EVENTS  flush (and move the checkpoint) every so many events (default 50000):
//                      bounds memory, and an invocation short of time stops at a flush
//   AWS_ENDPOINT_URL_S3  a local S3 (tests): path-style addressing is used there
// beside what every function reads (the store's tables, C360_SECRET_ID, ...).

const LakeEnv = z.object({
  C360_LAKE_BUCKET: z.string().min(3, 'the lake bucket: required by the lake function'),
  C360_LAKE_PREFIX: z
    .string()
    .default('')
    .refine((p) => p === '' || (p.endsWith('/') && !p.startsWith('/')), "empty or ending in '/' (and not starting with one)"),
  C360_LAKE_TENANTS: z.string().optional(),
  C360_LAKE_VERSIONED: z.enum(['true', 'false']).default('true'),
  C360_LAKE_FLUSH_EVENTS: z.coerce.number().int().min(1).default(50_000),
  AWS_ENDPOINT_URL_S3: z.url().optional(),
});

export const lakeFunction = (app: App, env: Env = process.env): LakeHandler => {
  const parsed = LakeEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const tenants = e.C360_LAKE_TENANTS
    ? [
        ...new Set(
          e.C360_LAKE_TENANTS.split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        ),
      ]
    : [app.config.tenant];
  if (tenants.length === 0) throw new ConfigError('C360_LAKE_TENANTS: names no tenant');
  const target = {
    bucket: e.C360_LAKE_BUCKET,
    prefix: e.C360_LAKE_PREFIX,
    versioned: e.C360_LAKE_VERSIONED === 'true',
    flushEvents: e.C360_LAKE_FLUSH_EVENTS,
    endpoint: e.AWS_ENDPOINT_URL_S3,
  };
  // the S3 client, the Parquet writer and the projection: loaded by the first invocation (lake.run.ts)
  let runner: Promise<() => LakeRun> | undefined;
  const load = () =>
    (runner ??= import('./lake.run.js').then(
      ({ lakeRunner }) => lakeRunner(app, target),
      (e: unknown) => {
        runner = undefined;
        throw e;
      },
    ));
  return createLakeHandler({
    start: async () => (await load())(),
    tenants,
    telemetry: telemetryFor('c360-lake', app, env),
  });
};
