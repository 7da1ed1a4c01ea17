import { ListTablesCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { gunzipSync } from 'node:zlib';
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
): Promise<{ readonly text: string; readonly tables: readonly string[]; readonly items: number; readonly gzippedViews: readonly string[] }> => {
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
  // a view over 350 KB is kept gzipped in parts (src/adapters/dynamodb/dynamodb.view-item.ts): its
  // base64 hides what it holds, so the dump also carries every gzipped view's JSON, unzipped
  const views = gzippedViews(all);
  return { text: [text, ...views].join('\n').toLowerCase(), tables, items: all.length, gzippedViews: views };
};

/**
 * The JSON text of every view kept gzipped: the chunks of `docGz` of one write (`docWrite`), in the
 * order of their sort keys (the head's `<customerId>`, then `<customerId> NUL <n>`), joined and
 * unzipped. Parts left by another write are their own group; one that does not unzip is an error,
 * so a dump never passes by failing to read a view.
 */
const gzippedViews = (items: readonly Record<string, AttributeValue>[]): string[] => {
  const groups = new Map<string, { sk: string; n: number; chunk: Uint8Array }[]>();
  for (const item of items) {
    const chunk = item.docGz?.B;
    if (chunk === undefined) continue;
    const sk = item.sk?.S ?? '';
    const [base = '', n = '0'] = sk.split('\u0000');
    const group = `${item.pk?.S ?? ''}\u0000${base}\u0000${item.docWrite?.S ?? ''}`;
    groups.set(group, [...(groups.get(group) ?? []), { sk, n: Number(n), chunk }]);
  }
  return [...groups.values()].map((chunks) => {
    const sorted = chunks.sort((a, b) => a.n - b.n);
    try {
      return gunzipSync(Buffer.concat(sorted.map((c) => c.chunk))).toString('utf8');
    } catch (e) {
      throw new Error(`a gzipped view (${sorted.map((c) => JSON.stringify(c.sk)).join(', ')}) did not unzip: ${(e as Error).message}`);
    }
  });
};

/** The values (lower-cased) that occur in a lower-cased dump. */
export const leaked = (dump: string, values: readonly string[]): string[] => values.map((v) => v.toLowerCase()).filter((v) => dump.includes(v));
