import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

// Where a stream consumer got to, per shard: the last sequence number fully projected, and whether
// a closed shard was read to its end (its children may start only then). One consumer per stream
// and name: there are no leases here, unlike the KCL.

export type ShardCheckpoint = { readonly sequenceNumber?: string | undefined; readonly ended: boolean };

export interface Checkpoints {
  get(streamArn: string, shardId: string): Promise<ShardCheckpoint | undefined>;
  save(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void>;
}

export class MemoryCheckpoints implements Checkpoints {
  readonly saved = new Map<string, ShardCheckpoint>();

  async get(streamArn: string, shardId: string): Promise<ShardCheckpoint | undefined> {
    return this.saved.get(`${streamArn}|${shardId}`);
  }

  async save(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    this.saved.set(`${streamArn}|${shardId}`, checkpoint);
  }
}

/** Checkpoints as items of a pk/sk string table (the views table will do). */
export class DynamoDbCheckpoints implements Checkpoints {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    /** lets several consumers of one stream keep their own places */
    private readonly consumer = 'customer360',
  ) {}

  async get(streamArn: string, shardId: string): Promise<ShardCheckpoint | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(streamArn, shardId), ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { sequenceNumber: out.Item.seq?.S, ended: out.Item.ended?.BOOL === true };
  }

  async save(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    const item = {
      ...this.key(streamArn, shardId),
      ended: { BOOL: checkpoint.ended },
      ...(checkpoint.sequenceNumber ? { seq: { S: checkpoint.sequenceNumber } } : {}),
    };
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
  }

  private key(streamArn: string, shardId: string) {
    return { pk: { S: `CP#${this.consumer}#${streamArn}` }, sk: { S: shardId } };
  }
}
