import { CreateBucketCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRows } from '../../src/adapters/lake/parquet.codec.js';
import { S3LakeWriter } from '../../src/adapters/lake/s3.lake-writer.js';
import { TABLES } from '../../src/adapters/lake/lake.tables.js';
import { emptyLakeBatch, type LakeBatch } from '../../src/application/ports/lake.port.js';
import { lakeWriterContract } from '../contract/lake-writer.contract.js';
import { motoAvailable, startMoto, type Moto } from '../support/moto.js';

// The S3 lake writer on a versioned bucket (moto's S3 on loopback; fauxqs keeps no versions): every
// rewrite leaves the old object as a version, so an erasure also deletes the tenant's old versions,
// and afterwards no version of any object holds a row of the erased ids. The contract suite runs
// here too.

const available = motoAvailable();
if (!available) console.warn('lake.s3-versions.test.ts: skipped, moto_server is not on PATH (pip install "moto[server]")');

let moto: Moto;
let client: S3Client;
beforeAll(async () => {
  if (!available) return;
  moto = await startMoto();
  client = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}, 60_000);
afterAll(() => {
  client?.destroy();
  moto?.stop();
});

const versionedBucket = async (): Promise<string> => {
  const bucket = `lake-${randomUUID()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return bucket;
};

const T = 't';
const at = (m: number, d: number): number => Date.UTC(2025, m - 1, d, 10);
const orders = (...xs: [string, string, number][]): LakeBatch => {
  const b = emptyLakeBatch();
  for (const [id, customerId, when] of xs) {
    b.orders.push({ eventId: id, orderId: id, customerId, channel: 'web', currency: 'USD', revenueMinor: 1_000, observedAt: when });
    b.customers.push({ kind: 'seen', customerId, firstSeenAt: when, lastSeenAt: when });
  }
  return b;
};

/** the customer ids in every version of every Parquet object of the bucket, and how many versions */
const idsInEveryVersion = async (bucket: string): Promise<{ ids: Set<string>; versions: number }> => {
  const ids = new Set<string>();
  let versions = 0;
  let key: string | undefined;
  let version: string | undefined;
  do {
    const r = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: key, VersionIdMarker: version }));
    for (const v of r.Versions ?? []) {
      if (!v.Key?.endsWith('.parquet')) continue;
      const t = TABLES.find((x) => v.Key!.startsWith(`lake/${x.name}/`))!;
      const body = await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }))).Body!.transformToByteArray();
      versions++;
      const cols = ['customer_id', 'survivor_id'].map((n) => t.columns.findIndex((c) => c.name === n)).filter((i) => i >= 0);
      for (const row of await decodeRows(t, body)) for (const i of cols) ids.add(String(row[i]));
    }
    [key, version] = r.IsTruncated ? [r.NextKeyMarker, r.NextVersionIdMarker] : [undefined, undefined];
  } while (key !== undefined);
  return { ids, versions };
};

/** a lake with a history: several flushes into the same partitions, so every object has old versions */
const withHistory = async (versioned: boolean) => {
  const bucket = await versionedBucket();
  const w = new S3LakeWriter({ client, bucket, prefix: 'lake/', versioned });
  await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
  await w.flush(T);
  await w.write(T, orders(['e3', 'a', at(1, 7)], ['e4', 'c', at(2, 6)]), 'p2');
  await w.flush(T);
  await w.write(T, orders(['e5', 'b', at(2, 7)]), 'p3');
  await w.flush(T);
  return { bucket, w };
};

describe.skipIf(!available)('the S3 lake writer on a versioned bucket (moto)', () => {
  it('an erasure leaves no version of any object with a row of the erased ids; the others stay', async () => {
    const { bucket, w } = await withHistory(true);
    const before = await idsInEveryVersion(bucket);
    expect(before.ids.has('a')).toBe(true);
    expect(before.versions).toBeGreaterThan((await w.objects(T)).length);
    await w.erase(T, ['a']);
    const after = await idsInEveryVersion(bucket);
    expect(after.ids.has('a')).toBe(false);
    expect([...after.ids].sort()).toEqual(['b', 'c']);
    // a tombstone read from the log does the same at the flush
    const tomb = emptyLakeBatch();
    tomb.customers.push({ kind: 'erased', customerId: 'c' });
    await w.write(T, tomb, 'p4');
    await w.flush(T);
    expect([...(await idsInEveryVersion(bucket)).ids]).toEqual(['b']);
    expect(await w.holds(T, ['b'])).toBe(true);
  });

  it('without it the old versions would still hold the erased rows (what the option is for)', async () => {
    const { bucket, w } = await withHistory(false);
    await w.erase(T, ['a']);
    expect(await w.holds(T, ['a'])).toBe(false);
    expect((await idsInEveryVersion(bucket)).ids.has('a')).toBe(true);
  });
});

if (available)
  lakeWriterContract('S3 (hyparquet-writer), moto, versioned bucket', async () => {
    const bucket = await versionedBucket();
    const writer = new S3LakeWriter({ client, bucket, prefix: 'lake/', versioned: true });
    return {
      writer,
      holds: (tenant, ids) => writer.holds(tenant, ids),
      rows: async (tenant, t) => {
        const out = [];
        for (const key of await writer.objects(tenant, t)) out.push(...(await writer.readRows(t, key)));
        return out;
      },
      reopen: async () => new S3LakeWriter({ client, bucket, prefix: 'lake/', versioned: true }),
      cleanup: () => {},
    };
  });
