import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient, type _Record } from '@aws-sdk/client-dynamodb-streams';

// Everything a DynamoDB table's stream holds right now, read from the start of every shard the
// way Lambda's event source mapping reads it, to be handed to the streams function.

export const streamArnOf = async (client: DynamoDBClient, table: string): Promise<string> => {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
  if (!Table?.LatestStreamArn) throw new Error(`table ${table} has no stream`);
  return Table.LatestStreamArn;
};

export const readWholeStream = async (streams: DynamoDBStreamsClient, streamArn: string): Promise<_Record[]> => {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    // an open shard always hands back a next iterator: stop at the first empty page
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      if (!page.Records?.length) break;
      records.push(...page.Records);
      iterator = page.NextShardIterator;
    }
  }
  return records;
};
