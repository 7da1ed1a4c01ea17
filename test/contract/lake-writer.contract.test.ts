import { readFileSync } from 'node:fs';
import { openDuckDbLake } from '../../src/adapters/lake/duckdb.analytics.js';
import { parquetFiles, tenantDir } from '../../src/adapters/lake/lake.files.js';
import { decodeRows } from '../../src/adapters/lake/parquet.codec.js';
import { S3LakeWriter } from '../../src/adapters/lake/s3.lake-writer.js';
import { s3Lake } from '../support/s3-lake.js';
import { tempLake } from '../support/lake-fixture.js';
import { lakeWriterContract } from './lake-writer.contract.js';

// Both lake writers pass the one suite: DuckDB over a temporary folder, and the pure-JS writer over
// fauxqs's S3 (a fresh bucket each). Rows are read back from the files with hyparquet in both.

lakeWriterContract('DuckDB, local files', async () => {
  const lake = await tempLake();
  const reopened: { close(): void }[] = [];
  return {
    writer: lake.lake.writer,
    holds: (tenant, ids) => lake.lake.writer.holds(tenant, ids),
    rows: async (tenant, t) => {
      const out = [];
      for (const file of parquetFiles(tenantDir(lake.root, t.name, tenant))) out.push(...(await decodeRows(t, readFileSync(file))));
      return out;
    },
    reopen: async () => {
      const again = await openDuckDbLake(lake.root);
      reopened.push(again);
      return again.writer;
    },
    cleanup: () => {
      for (const r of reopened) r.close();
      lake.cleanup();
    },
  };
});

lakeWriterContract('S3 (hyparquet-writer), fauxqs', async () => {
  const lake = await s3Lake();
  return {
    writer: lake.writer,
    holds: (tenant, ids) => lake.writer.holds(tenant, ids),
    rows: async (tenant, t) => {
      const out = [];
      for (const key of await lake.writer.objects(tenant, t)) out.push(...(await lake.writer.readRows(t, key)));
      return out;
    },
    reopen: async () => new S3LakeWriter({ client: lake.client, bucket: lake.bucket, prefix: lake.prefix }),
    cleanup: () => lake.client.destroy(),
  };
});
