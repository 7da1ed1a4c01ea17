import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

// The views table holds the 360 read models (and, optionally, stream checkpoints): string pk and
// sk, no index (ensureTables in dynamodb.tables.ts creates it). Views are spread over buckets
// within a tenant's generation, so listing is a handful of Queries and never a scan:
//   view doc           pk = T#<tenant>#G#<generation>#B#<bucket>   sk = <customerId>
//   active generation  pk = T#<tenant>#ACTIVE                       sk = -
//   stream checkpoint  pk = CP#<consumer>#<streamArn>               sk = <shardId>

export const viewsTableDefinition = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
});
