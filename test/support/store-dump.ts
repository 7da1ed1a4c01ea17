import { ListTablesCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Dumpable, Harness } from './harness.js';
import { drain } from './paging.js';

// Everything a deployment holds, as one lower-cased text, so an erasure proof can search it for
// personal values in any casing: every store adapter's dump() (in memory or SQLite), or every item
// of every table on DynamoDB Local.

/** Every store of a harness (memory or SQLite): events, read models, keys, quarantine, snapshots, audit, ledger. */
export const memoryDump = (h: Harness): string => {
  const p = h.ports;
  const stores: Record<string, Dumpable> = {
    events: p.store,
    readModels: p.readModels,
    keys: p.keys,
    quarantine: p.quarantine,
    snapshots: p.snapshots,
    audit: p.audit,
    ledger: p.ledger,
  };
  return JSON.stringify(Object.fromEntries(Object.entries(stores).map(([name, s]) => [name, s.dump()]))).toLowerCase();
};

/** Every item of every table whose name starts with `prefix`, scanned in full. */
export const dynamoDump = async (
  client: DynamoDBClient,
  prefix: string,
): Promise<{ readonly text: string; readonly tables: readonly string[]; readonly items: number }> => {
  const names = await drain(async (start) => {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    return { items: page.TableNames ?? [], next: page.LastEvaluatedTableName };
  });
  const tables = names.filter((t) => t.startsWith(prefix));
  const all: Record<string, AttributeValue>[] = [];
  for (const table of tables) {
    all.push(
      ...(await drain(async (key: Record<string, AttributeValue> | undefined) => {
        const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: key, ConsistentRead: true }));
        return { items: page.Items ?? [], next: page.LastEvaluatedKey };
      })),
    );
  }
  // binary attributes (ciphertext) as base64, so nothing is skipped and nothing decodes by accident
  const text = JSON.stringify(all, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)).toLowerCase();
  return { text, tables, items: all.length };
};

/** The values (lower-cased) that occur in a lower-cased dump. */
export const leaked = (dump: string, values: readonly string[]): string[] => values.map((v) => v.toLowerCase()).filter((v) => dump.includes(v));
