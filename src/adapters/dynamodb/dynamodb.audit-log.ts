import {
  ConditionalCheckFailedException,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { queryPage } from './dynamodb.client.js';
import type { AuditEntry, AuditLog, AuditPage } from '../../application/ports/audit.port.js';

// The audit log in its own table, kept for good (no TTL: it holds ids and codes, never a personal
// value). Each entry is one item under pk = A#<tenant>, sk = entry id (UUIDv7, so sort order is
// time order and any id is a cursor); an entry naming a customer gets a second copy under
// pk = A#<tenant>#C#<customerId>, written in the same transaction, so "what was done to this
// customer" is one strongly consistent query (a GSI would only be eventually consistent).
// Parts are URI-encoded, so no tenant or customer id can forge another's partition.

export type DynamoDbAuditLogOptions = { readonly tableName: string };

type Item = Record<string, AttributeValue>;
const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });

const tenantPk = (tenant: string): string => `A#${encodeURIComponent(tenant)}`;
const customerPk = (tenant: string, customerId: string): string => `${tenantPk(tenant)}#C#${encodeURIComponent(customerId)}`;

/** `entry` is the whole entry; the other attributes are there for people reading the table */
const itemOf = (pk: string, entry: AuditEntry): Item => ({
  pk: S(pk),
  sk: S(entry.id),
  at: N(entry.at),
  action: S(entry.action),
  outcome: S(entry.outcome),
  entry: S(JSON.stringify(entry)),
});

const alreadyThere = (e: unknown): boolean =>
  e instanceof ConditionalCheckFailedException ||
  (e instanceof TransactionCanceledException && (e.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed'));

export class DynamoDbAuditLog implements AuditLog {
  private readonly table: string;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbAuditLogOptions,
  ) {
    this.table = options.tableName;
  }

  /** Idempotent by id: the first append of an id wins, a repeat changes nothing. */
  async append(entry: AuditEntry): Promise<void> {
    const condition = { ConditionExpression: 'attribute_not_exists(pk)' };
    try {
      if (entry.customerId === undefined) {
        await this.client.send(new PutItemCommand({ TableName: this.table, Item: itemOf(tenantPk(entry.tenant), entry), ...condition }));
        return;
      }
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [tenantPk(entry.tenant), customerPk(entry.tenant, entry.customerId)].map((pk) => ({
            Put: { TableName: this.table, Item: itemOf(pk, entry), ...condition },
          })),
        }),
      );
    } catch (e) {
      if (!alreadyThere(e)) throw e;
    }
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly customerId?: string | undefined },
  ): Promise<AuditPage> {
    if (!(options.limit >= 1)) throw new Error(`audit list limit must be at least 1, got ${options.limit}`);
    const pk = options.customerId === undefined ? tenantPk(tenant) : customerPk(tenant, options.customerId);
    const values: Item = { ':pk': S(pk), ...(options.after === undefined ? {} : { ':after': S(options.after) }) };
    const { items, more } = await queryPage(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: options.after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
        ExpressionAttributeValues: values,
        ProjectionExpression: 'entry',
        ConsistentRead: true,
      },
      options.limit,
    );
    const entries = items.map((i) => JSON.parse(i.entry!.S!) as AuditEntry);
    return more ? { entries, next: entries[entries.length - 1]!.id } : { entries };
  }
}
