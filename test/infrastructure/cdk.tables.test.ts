import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { afterAll, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { deployTables, tableNamesFor, TABLE_KINDS } from '../../src/infrastructure/cdk/tables.js';

// The deployed tables are the tables the code creates: the local creator (ensureTables) runs on
// DynamoDB Local, and what DescribeTable says of each table (keys, attributes, indexes, stream
// view type, billing, TTL) equals what the CDK template declares for the same name.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
afterAll(() => client.destroy());

const byName = <T extends { AttributeName?: string; IndexName?: string }>(xs: readonly T[] | undefined) =>
  [...(xs ?? [])].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));

it('every table in the template equals the one ensureTables creates on DynamoDB Local', async () => {
  const prefix = `cdk-${randomUUID().slice(0, 8)}`;
  const names = tableNamesFor(prefix);
  await ensureTables(client, names);
  const stack = new Stack(new App(), 'Tables');
  deployTables(stack, { prefix, key: new Key(stack, 'Key', { enableKeyRotation: true }), production: false });
  const declared = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table')).map(
    (r) => (r as { Properties: Record<string, unknown> }).Properties,
  );
  expect(declared).toHaveLength(TABLE_KINDS.length);
  for (const kind of TABLE_KINDS) {
    const name = names[kind];
    const cfn = declared.find((p) => p.TableName === name) as Record<string, never>;
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const live = Table!;
    expect(cfn.BillingMode, name).toBe(live.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST');
    expect(cfn.KeySchema, name).toEqual(live.KeySchema);
    expect(byName(cfn.AttributeDefinitions), name).toEqual(byName(live.AttributeDefinitions));
    expect(
      byName(cfn.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: { ProjectionType: string } }[] | undefined).map((g) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        ProjectionType: g.Projection.ProjectionType,
      })),
      name,
    ).toEqual(
      byName(live.GlobalSecondaryIndexes).map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, ProjectionType: g.Projection?.ProjectionType })),
    );
    expect((cfn.StreamSpecification as { StreamViewType?: string } | undefined)?.StreamViewType, name).toBe(
      live.StreamSpecification?.StreamEnabled ? live.StreamSpecification.StreamViewType : undefined,
    );
    const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    const liveTtl = ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING' ? ttl.AttributeName : undefined;
    expect((cfn.TimeToLiveSpecification as { AttributeName?: string } | undefined)?.AttributeName, name).toBe(liveTtl);
  }
});
