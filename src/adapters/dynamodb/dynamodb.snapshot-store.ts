import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SnapshotStore, StoredSnapshot } from '../../application/ports/snapshot.port.js';
import { snapshotPk } from './dynamodb.event-item.js';
import { PointReads } from './dynamodb.point-reads.js';

// Snapshots live in the event table, one item per stream (shape in dynamodb.event-item.ts). Their
// kind is 'snapshot', so the Streams projector passes over them, and they carry no gpk/gsk, so
// the by-commit index (and with it readAll) never sees them. The gets of one turn (every load of
// a customer asks first) are coalesced into BatchGetItem calls (dynamodb.point-reads.ts).

export type DynamoDbSnapshotStoreOptions = {
  readonly tableName: string;
  /** gets of one turn go together (default); false: each its own request */
  readonly coalesce?: boolean | undefined;
};

const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });

export class DynamoDbSnapshotStore implements SnapshotStore {
  private readonly table: string;
  private readonly reads: PointReads;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbSnapshotStoreOptions,
  ) {
    this.table = options.tableName;
    // an eventually consistent read is enough: a snapshot is the true state at its own version,
    // however old, and the tail after it is read consistently
    const projection = { ProjectionExpression: 'pk, sk, #v, #s', ExpressionAttributeNames: { '#v': 'version', '#s': 'snapshot' } };
    this.reads = new PointReads(client, this.table, { projection, consistent: false, coalesce: options.coalesce });
  }

  async get(tenant: string, streamId: string): Promise<StoredSnapshot | undefined> {
    const [item] = await this.reads.read([{ pk: S(snapshotPk(tenant, streamId)), sk: N(0) }]);
    if (item === undefined) return undefined;
    const version = Number(item.version?.N);
    const json = item.snapshot?.S;
    if (!Number.isSafeInteger(version) || json === undefined) throw new Error(`snapshot item ${snapshotPk(tenant, streamId)} lacks its version or snapshot`);
    return { version, snapshot: JSON.parse(json) };
  }

  async put(tenant: string, streamId: string, version: number, snapshot: unknown): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: S(snapshotPk(tenant, streamId)),
            sk: N(0),
            kind: S('snapshot'),
            tenant: S(tenant),
            streamId: S(streamId),
            version: N(version),
            snapshot: S(JSON.stringify(snapshot)),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #v < :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': N(version) },
        }),
      );
    } catch (e) {
      // a snapshot as new or newer is already kept (another loader got there first): nothing to do
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  async delete(tenant: string, streamId: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(snapshotPk(tenant, streamId)), sk: N(0) } }));
  }
}
