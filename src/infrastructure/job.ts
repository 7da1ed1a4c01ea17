import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { SecretSource } from '../adapters/config/secrets-manager.source.js';
import type { CliIo } from '../adapters/cli/cli.deps.js';
import { main } from './cli.js';
import { ConfigError } from './config.js';
import { jobEnv } from './lambda/secrets.js';

// The long jobs' entry (the Dockerfile's, run as an ECS Fargate task): the c360 CLI, with the claim
// secret and master keys read from Secrets Manager (C360_SECRET_ID) as the functions read theirs,
// held in memory and handed to the command, never set in the task's environment. Rebuild, match
// and migrate run here unchanged for as long as they take (no 15-minute limit); their progress
// and result go to the task's log. A migration's source, an embedded store's SQLite file, is
// fetched from S3 first (C360_JOB_SOURCE=s3://bucket/key) onto the task's disk.

const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

/** env with C360_JOB_SOURCE's file on disk as the source store (C360_STORE=sqlite), if one is named */
export const fetchJobSource = async (env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> => {
  const uri = env.C360_JOB_SOURCE;
  if (!uri) return env;
  const m = S3_URI.exec(uri);
  if (!m) throw new ConfigError(`C360_JOB_SOURCE: "${uri}" is not an s3://bucket/key URI`);
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({});
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    const dir = resolve(env.C360_DATA_DIR ?? '.c360');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'source.sqlite');
    await pipeline(object.Body as Readable, createWriteStream(file, { mode: 0o600 }));
    return { ...env, C360_STORE: 'sqlite', C360_SQLITE_FILE: file };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`C360_JOB_SOURCE: cannot fetch ${uri} (${(e as Error).name}: ${(e as Error).message})`);
  } finally {
    client.destroy();
  }
};

export const runJob = async (argv: readonly string[], env: NodeJS.ProcessEnv = process.env, source?: SecretSource, io?: CliIo): Promise<number> => {
  let prepared: NodeJS.ProcessEnv;
  try {
    prepared = await fetchJobSource(await jobEnv(env, source));
  } catch (e) {
    (io?.stderr ?? process.stderr).write(`error: ${(e as Error).message}\n`);
    return 1;
  }
  return main(argv, prepared, io);
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await runJob(process.argv.slice(2));
