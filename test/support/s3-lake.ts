import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';
import { S3LakeWriter } from '../../src/adapters/lake/s3.lake-writer.js';

// The S3 lake writer against fauxqs's S3 (the tests' global setup starts it on a loopback port):
// a fresh bucket per lake, path-style addressing.

export const s3Client = (): S3Client =>
  new S3Client({ endpoint: inject('s3Endpoint'), forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

export type S3Lake = { readonly writer: S3LakeWriter; readonly client: S3Client; readonly bucket: string; readonly prefix: string };

export const s3Lake = async (options: { clock?: () => number; prefix?: string } = {}): Promise<S3Lake> => {
  const client = s3Client();
  const bucket = `lake-${randomUUID()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const prefix = options.prefix ?? 'lake/';
  return { writer: new S3LakeWriter({ client, bucket, prefix, clock: options.clock }), client, bucket, prefix };
};

/** Every object of the bucket under the lake's prefix, downloaded into a fresh folder (the lake's root there). */
export const download = async (lake: S3Lake): Promise<{ root: string; keys: string[]; cleanup(): void }> => {
  const root = mkdtempSync(join(tmpdir(), 'c360-s3-lake-'));
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await lake.client.send(new ListObjectsV2Command({ Bucket: lake.bucket, Prefix: lake.prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  for (const key of keys) {
    const body = await (await lake.client.send(new GetObjectCommand({ Bucket: lake.bucket, Key: key }))).Body!.transformToByteArray();
    const file = join(root, key.slice(lake.prefix.length));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
  return { root, keys, cleanup: () => rmSync(root, { recursive: true, force: true }) };
};
