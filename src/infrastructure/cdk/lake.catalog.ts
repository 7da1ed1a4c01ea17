import { Stack } from 'aws-cdk-lib';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { glueTables } from '../../adapters/lake/lake.tables.js';

// The lake's Glue catalogue: one database, and one table per lake table, read from the lake's own
// table definitions (glueTables() in lake.tables.ts), never written again here. Each table is
// Parquet under s3://<lake>/<table>/, partitioned as the lake writes it (tenant=<t>/year=<y>/month=<m>/
// for facts, tenant=<t>/ for dimensions), with partition projection on: Athena computes the
// partitions from the query's predicates, so no crawler and no MSCK REPAIR TABLE are needed.
// The tenant is "injected": every query names its tenant (Athena refuses one that does not), which
// is how the analytics views are filtered anyway.

/** the first year a fact partition may have; the quality check refuses times before 2000 */
const FIRST_YEAR = 2000;
const LAST_YEAR = 2100;

const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', parameters: { 'serialization.format': '1' } },
};

/** Partition projection's table parameters for a table's partition keys under its location. */
export const projectionParameters = (location: string, partitionKeys: readonly { readonly name: string; readonly type: string }[]): Record<string, string> => {
  const out: Record<string, string> = { 'projection.enabled': 'true' };
  for (const { name } of partitionKeys) {
    if (name === 'tenant') out['projection.tenant.type'] = 'injected';
    else if (name === 'year') Object.assign(out, { 'projection.year.type': 'integer', 'projection.year.range': `${FIRST_YEAR},${LAST_YEAR}` });
    else if (name === 'month') Object.assign(out, { 'projection.month.type': 'integer', 'projection.month.range': '1,12' });
    else throw new Error(`lake catalogue: no projection for partition key "${name}"`);
  }
  out['storage.location.template'] = `${location}${partitionKeys.map(({ name }) => `${name}=\${${name}}/`).join('')}`;
  return out;
};

export type LakeCatalogProps = { readonly bucket: IBucket; readonly databaseName: string };

export class LakeCatalog extends Construct {
  readonly database: CfnDatabase;
  readonly tables: Record<string, CfnTable> = {};
  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const catalogId = Stack.of(this).account;
    this.database = new CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: { name: props.databaseName, description: 'Customer 360 lake: the star schema the lake projection writes (Parquet, Hive partitions)' },
    });
    for (const t of glueTables()) {
      const location = `s3://${props.bucket.bucketName}/${t.name}/`;
      const table = new CfnTable(this, t.name, {
        catalogId,
        databaseName: props.databaseName,
        tableInput: {
          name: t.name,
          tableType: 'EXTERNAL_TABLE',
          parameters: { classification: 'parquet', EXTERNAL: 'TRUE', 'parquet.compression': 'ZSTD', ...projectionParameters(location, t.partitionKeys) },
          partitionKeys: t.partitionKeys.map((c) => ({ name: c.name, type: c.type })),
          storageDescriptor: { location, columns: t.columns.map((c) => ({ name: c.name, type: c.type })), ...PARQUET },
        },
      });
      table.addResourceDependency(this.database);
      this.tables[t.name] = table;
    }
  }
}
