import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Item } from './dynamodb.event-item.js';

// How one view doc is laid out in the views table, whatever its size. DynamoDB refuses an item over
// 400 KB, and a 360 view has no size bound of its own (a customer's traits are kept by name, as
// many as were sent), so a doc is stored:
//   - as its JSON text in `doc` up to INLINE_JSON_BYTES (nearly every view: one item, as before);
//   - beyond, gzipped into `docGz`, cut into chunks of PART_BYTES: the first in the doc's own item
//     (which keeps `version` and `appliedSum`, so the write's condition is unchanged), the others in
//     part items beside it (sk = <customerId> NUL <n>). The head names how many chunks there are
//     (`docParts`) and the write they belong to (`docWrite`, also on every part): a reader that
//     finds a part of another write read the doc while it was being replaced, and reads it again.
// Every gzipped write puts its chunks and deletes the part items a larger earlier write may have
// left (up to MAX_PARTS), in one TransactWriteItems: the doc and its parts change together.
// MAX_PARTS chunks of PART_BYTES stay within a transaction's 4 MB: a view whose gzipped JSON is
// larger than that cannot be stored, and is refused as ViewTooLargeError (never retried).

export const INLINE_JSON_BYTES = 350_000;
export const PART_BYTES = 350_000;
export const MAX_PARTS = 11;
/** the largest gzipped view the table holds */
export const MAX_VIEW_GZIP_BYTES = PART_BYTES * MAX_PARTS;

/** the attributes a reader of a doc's item needs (beside its keys) */
export const VIEW_ATTRIBUTES = 'doc, docGz, docParts, docWrite';

export class ViewTooLargeError extends Error {
  override readonly name = 'ViewTooLargeError';
  readonly code = 'VIEW_TOO_LARGE';
}

export const partKey = (key: Item, n: number): Item => ({ pk: key.pk!, sk: { S: `${key.sk!.S!}\u0000${n}` } });

export type ViewItems = {
  /** the doc's own item (its key and the doc, or the first chunk and the layout) */
  readonly head: Item;
  /** the part items to put beside it */
  readonly parts: readonly Item[];
  /** the part keys past this write's last chunk, to delete (empty for a doc kept as JSON text) */
  readonly stale: readonly Item[];
  /** DynamoDB's size of what is written, about */
  readonly bytes: number;
};

const OVERHEAD = 512;

/** The items of one doc (its JSON text) under `key`. */
export const viewItems = (key: Item, json: string): ViewItems => {
  const textBytes = Buffer.byteLength(json);
  if (textBytes <= INLINE_JSON_BYTES) return { head: { ...key, doc: { S: json } }, parts: [], stale: [], bytes: textBytes + OVERHEAD };
  const gz = gzipSync(json);
  const count = Math.ceil(gz.length / PART_BYTES);
  if (count > MAX_PARTS)
    throw new ViewTooLargeError(
      `the view of ${key.sk!.S} is ${gz.length} bytes gzipped (${textBytes} bytes of JSON), over the ${MAX_VIEW_GZIP_BYTES} bytes a view can hold on DynamoDB`,
    );
  const write = { S: randomUUID() };
  const chunk = (n: number) => gz.subarray(n * PART_BYTES, (n + 1) * PART_BYTES);
  return {
    head: { ...key, docGz: { B: chunk(0) }, docParts: { N: String(count) }, docWrite: write },
    parts: Array.from({ length: count - 1 }, (_, i) => ({ ...partKey(key, i + 1), docGz: { B: chunk(i + 1) }, docWrite: write })),
    stale: Array.from({ length: MAX_PARTS - count }, (_, i) => partKey(key, count + i)),
    bytes: gz.length + OVERHEAD * count,
  };
};

/** The head item of a doc that is kept in parts, with how many parts it has beyond itself. */
export const partsNeeded = (head: Item): number => (head.doc === undefined && head.docGz !== undefined ? Number(head.docParts?.N ?? '1') - 1 : 0);

/** What a read found: the doc's JSON text, or 'torn' when a part belongs to another write (read again). */
export const viewJson = (head: Item, parts: readonly (Item | undefined)[]): string | 'torn' => {
  if (head.doc?.S !== undefined) return head.doc.S;
  const first = head.docGz?.B;
  if (first === undefined) throw new Error(`view item ${head.sk?.S} holds neither doc nor docGz`);
  const write = head.docWrite?.S;
  const chunks: Uint8Array[] = [first];
  for (const part of parts) {
    if (part?.docGz?.B === undefined || part.docWrite?.S !== write) return 'torn';
    chunks.push(part.docGz.B);
  }
  return gunzipSync(Buffer.concat(chunks)).toString('utf8');
};
