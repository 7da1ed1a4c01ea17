import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { queryPage } from './dynamodb.client.js';
import type { ErasureLedger, ErasureReceipt } from '../../application/ports/erasure-ledger.port.js';
import { batchWrite } from './dynamodb.batch-write.js';

// The erasure ledger in its own table, kept for good (no TTL, no personal data). pk = T#<tenant>;
// one item per receipt (sk = R#<erasureId>, UUIDv7, so the sort key order is time order) and one
// lookup item per customer id the erasure covered (sk = C#<customerId>), holding a copy of the
// receipt so any id of the cluster finds it with one read. Lookups are written before the
// receipt, so a listed receipt is always findable; once the receipt is there, recording it again
// changes nothing.

export type DynamoDbErasureLedgerOptions = { readonly tableName: string };

type Item = Record<string, AttributeValue>;
const S = (v: string) => ({ S: v });
const tenantPk = (tenant: string): string => `T#${tenant}`;
const RECEIPT = 'R#';
const LOOKUP = 'C#';

const toReceipt = (item: Item | undefined): ErasureReceipt | undefined => {
  const json = item?.receipt?.S;
  return json === undefined ? undefined : (JSON.parse(json) as ErasureReceipt);
};

export class DynamoDbErasureLedger implements ErasureLedger {
  private readonly table: string;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbErasureLedgerOptions,
  ) {
    this.table = options.tableName;
  }

  /** The first receipt of an erasureId stays: a repeat (a retried or concurrent run) changes nothing. */
  async record(receipt: ErasureReceipt): Promise<void> {
    const pk = S(tenantPk(receipt.tenant));
    const { Item: recorded } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk, sk: S(`${RECEIPT}${receipt.erasureId}`) }, ConsistentRead: true, ProjectionExpression: 'pk' }),
    );
    if (recorded) return;
    const json = S(JSON.stringify(receipt));
    const erasureId = S(receipt.erasureId);
    const lookups = [...new Set([receipt.requestedId, ...receipt.customers])].map((id) => ({
      PutRequest: { Item: { pk, sk: S(`${LOOKUP}${id}`), erasureId, receipt: json } },
    }));
    await batchWrite(this.client, this.table, lookups);
    await batchWrite(this.client, this.table, [{ PutRequest: { Item: { pk, sk: S(`${RECEIPT}${receipt.erasureId}`), erasureId, receipt: json } } }]);
  }

  /** The lookups first, then the receipt, as record writes them: a receipt that says clean is clean under every id. */
  async markLakeClean(tenant: string, erasureId: string, at: string): Promise<void> {
    const pk = S(tenantPk(tenant));
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk, sk: S(`${RECEIPT}${erasureId}`) }, ConsistentRead: true }));
    const receipt = toReceipt(Item);
    if (!receipt || receipt.lakeCleanAt) return;
    const json = S(JSON.stringify({ ...receipt, lakeCleanAt: at }));
    const id = S(erasureId);
    const lookups = [...new Set([receipt.requestedId, ...receipt.customers])].map((c) => ({
      PutRequest: { Item: { pk, sk: S(`${LOOKUP}${c}`), erasureId: id, receipt: json } },
    }));
    await batchWrite(this.client, this.table, lookups);
    await batchWrite(this.client, this.table, [{ PutRequest: { Item: { pk, sk: S(`${RECEIPT}${erasureId}`), erasureId: id, receipt: json } } }]);
  }

  async find(tenant: string, customerId: string): Promise<ErasureReceipt | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: S(tenantPk(tenant)), sk: S(`${LOOKUP}${customerId}`) }, ConsistentRead: true }),
    );
    return toReceipt(Item);
  }

  async list(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }) {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const start: Item | undefined = options.after === undefined ? undefined : { pk: S(tenantPk(tenant)), sk: S(`${RECEIPT}${options.after}`) };
    const { items, more } = await queryPage(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
        ExpressionAttributeValues: { ':pk': S(tenantPk(tenant)), ':r': S(RECEIPT) },
        ConsistentRead: true,
      },
      options.limit,
      start,
    );
    const entries = items.map((item) => toReceipt(item)!);
    return more ? { entries, next: entries.at(-1)!.erasureId } : { entries };
  }
}
