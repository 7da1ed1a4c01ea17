import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { RemovalPolicy } from 'aws-cdk-lib';
import { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { tableDefinitions, type TableNames } from '../../adapters/dynamodb/dynamodb.tables.js';

// The deployed tables come from the same definitions the code creates locally (ensureTables in
// dynamodb.tables.ts): names, keys, indexes, stream view type and TTL attribute are read from them,
// never written again here. What the deployment adds: KMS encryption, point-in-time recovery and
// deletion protection.

export type TableKind = keyof TableNames;
export const TABLE_KINDS = Object.keys(tableDefinitions) as TableKind[];
/** every table of a stage, at one access level (the api function, the migrate job) */
export const everyTable = (access: 'read' | 'readWrite'): Record<TableKind, 'read' | 'readWrite'> =>
  Object.fromEntries(TABLE_KINDS.map((kind) => [kind, access])) as Record<TableKind, 'read' | 'readWrite'>;

/** The physical table names of a stage; the functions get them as C360_*_TABLE. */
export const tableNamesFor = (prefix: string): Required<TableNames> => ({
  events: `${prefix}-events`,
  views: `${prefix}-views`,
  keys: `${prefix}-keys`,
  quarantine: `${prefix}-quarantine`,
  audit: `${prefix}-audit`,
  ledger: `${prefix}-erasures`,
  // the config's default: the events table's name + "-outbox"
  outbox: `${prefix}-events-outbox`,
});

/** CreateTable's input as CloudFormation properties (the same shapes, in camelCase). */
export const cfnPropsOf = (input: CreateTableCommandInput) => ({
  tableName: input.TableName,
  billingMode: input.BillingMode,
  attributeDefinitions: (input.AttributeDefinitions ?? []).map((a) => ({ attributeName: a.AttributeName!, attributeType: a.AttributeType! })),
  keySchema: (input.KeySchema ?? []).map((k) => ({ attributeName: k.AttributeName!, keyType: k.KeyType! })),
  globalSecondaryIndexes: input.GlobalSecondaryIndexes?.map((g) => ({
    indexName: g.IndexName!,
    keySchema: (g.KeySchema ?? []).map((k) => ({ attributeName: k.AttributeName!, keyType: k.KeyType! })),
    projection: { projectionType: g.Projection?.ProjectionType, nonKeyAttributes: g.Projection?.NonKeyAttributes },
  })),
  streamSpecification: input.StreamSpecification?.StreamEnabled ? { streamViewType: input.StreamSpecification.StreamViewType! } : undefined,
});

/** Days of point-in-time recovery on every table; the lake bucket keeps old object versions as long. */
export const BACKUP_RETENTION_DAYS = 35;

export type DeployedTable = { readonly kind: TableKind; readonly table: CfnTable; readonly ttlAttribute?: string | undefined };

export const deployTables = (scope: Construct, options: { prefix: string; key: IKey; production: boolean }): Record<TableKind, DeployedTable> => {
  const names = tableNamesFor(options.prefix);
  const out = {} as Record<TableKind, DeployedTable>;
  for (const kind of TABLE_KINDS) {
    const definition = tableDefinitions[kind];
    const table = new CfnTable(scope, `${kind[0]!.toUpperCase()}${kind.slice(1)}Table`, {
      ...cfnPropsOf(definition.create(names[kind])),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: BACKUP_RETENTION_DAYS },
      sseSpecification: { sseEnabled: true, sseType: 'KMS', kmsMasterKeyId: options.key.keyArn },
      timeToLiveSpecification: definition.ttlAttribute ? { attributeName: definition.ttlAttribute, enabled: true } : undefined,
      deletionProtectionEnabled: options.production,
    });
    // production keeps its tables (and their backups) when the stack goes; other stages clean up
    table.applyRemovalPolicy(options.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    out[kind] = { kind, table, ttlAttribute: definition.ttlAttribute };
  }
  return out;
};
