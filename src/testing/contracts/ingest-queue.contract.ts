import { describe, expect, it } from '../vitest.js';
import { recordBytes, type IngestQueue, type QueueRecord, type QueueResult } from '../../application/ports/ingest-queue.port.js';

// What every IngestQueue promises (src/application/ports/ingest-queue.port.ts) to the async intake
// that puts validated calls on it and the consumer that takes them off: a sent record arrives as
// it was sent (partition key and bytes), records of one partition key in the order they were sent;
// `send` answers one result per record, in order, an accepted one with the id the queue gave it,
// whatever the number or size of the records within each record's limit (splitting is the queue's
// business); a record the queue cannot take is reported, not thrown, and alone (the records sent
// with it still go: chunkRecords sends an oversized record alone for that reason). Each runner says
// how a consumer reads what the queue holds.

/** A record as the consumer reads it off the queue. */
export type ReceivedRecord = { readonly id: string; readonly partitionKey: string; readonly data: Uint8Array };

export type IngestQueueUnderTest = {
  readonly queue: IngestQueue;
  /** every record the queue holds now, each partition key's in the order the consumer gets them */
  received(): Promise<ReceivedRecord[]>;
  /** a queue that can take nothing (its stream does not exist) */
  refusing(): IngestQueue;
};

const encoder = new TextEncoder();
const record = (partitionKey: string, body: string | Uint8Array): QueueRecord => ({
  partitionKey,
  data: typeof body === 'string' ? encoder.encode(body) : body,
});
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');
const accepted = (results: readonly QueueResult[]): string[] =>
  results.map((r, i) => {
    if (!r.ok) throw new Error(`record ${i} was refused: ${r.code} ${r.message}`);
    return r.id;
  });

/** What arrived for these results, in their order (by the ids the queue answered). */
const arrivedFor = (got: readonly ReceivedRecord[], ids: readonly string[]) => {
  const byId = new Map(got.map((r) => [r.id, r]));
  return ids.map((id) => {
    const r = byId.get(id);
    return r && { partitionKey: r.partitionKey, data: hex(r.data) };
  });
};
const sent = (records: readonly QueueRecord[]) => records.map((r) => ({ partitionKey: r.partitionKey, data: hex(r.data) }));

export const ingestQueueContract = (name: string, make: () => Promise<IngestQueueUnderTest> | IngestQueueUnderTest): void => {
  describe(`IngestQueue contract: ${name}`, () => {
    it('states limits a send can be planned with', async () => {
      const { queue } = await make();
      const { maxRecords, maxBytes, maxRecordBytes } = queue.limits;
      for (const n of [maxRecords, maxBytes, maxRecordBytes]) expect(Number.isInteger(n) && n >= 1).toBe(true);
      expect(maxRecordBytes).toBeLessThanOrEqual(maxBytes);
    });

    it('answers one accepted result per record, in order, and each record arrives as sent (keys and bytes exactly)', async () => {
      const { queue, received } = await make();
      const records = [
        record('k-ascii', '{"c360":1,"call":{"type":"identify"}}'),
        record('ключ-ü-✓', 'ünïcode ✓ body'),
        record('k-binary', new Uint8Array([0, 255, 254, 0xc3, 0x28, 10, 13, 0])),
        record('k-empty-body', new Uint8Array(0)),
        record('k-ascii', 'second on the same key'),
      ];
      const results = await queue.send(records);
      expect(results).toHaveLength(records.length);
      const ids = accepted(results);
      expect(new Set(ids).size).toBe(ids.length);
      const got = await received();
      expect(got).toHaveLength(records.length);
      expect(arrivedFor(got, ids)).toEqual(sent(records));
    });

    it("delivers one partition key's records in the order they were sent, across sends, keys interleaved", async () => {
      const { queue, received } = await make();
      const keys = ['k-a', 'k-b', 'k-c'];
      const batch = (from: number) => Array.from({ length: 12 }, (_, i) => record(keys[i % 3]!, `${keys[i % 3]} #${from + i}`));
      const [first, second] = [batch(0), batch(12)];
      accepted(await queue.send(first));
      accepted(await queue.send(second));
      const got = await received();
      expect(got).toHaveLength(24);
      for (const key of keys) {
        const order = [...first, ...second].filter((r) => r.partitionKey === key).map((r) => hex(r.data));
        expect(got.filter((r) => r.partitionKey === key).map((r) => hex(r.data))).toEqual(order);
      }
    });

    it('takes more records than one request holds (maxRecords + 1), one result each, in order', async () => {
      const { queue, received } = await make();
      const records = Array.from({ length: queue.limits.maxRecords + 1 }, (_, i) => record(`k-${i % 7}`, `r${i}`));
      const results = await queue.send(records);
      expect(results).toHaveLength(records.length);
      const ids = accepted(results);
      expect(arrivedFor(await received(), ids)).toEqual(sent(records));
    });

    it('takes records as large as maxRecordBytes, more of them than maxBytes holds in one request', async () => {
      const { queue, received } = await make();
      const { maxRecordBytes, maxBytes } = queue.limits;
      const n = Math.floor(maxBytes / maxRecordBytes) + 1;
      const records = Array.from({ length: n }, (_, i) => {
        const key = `k-big-${i}`;
        const data = new Uint8Array(maxRecordBytes - key.length).fill(65 + i);
        return record(key, data);
      });
      for (const r of records) expect(recordBytes(r)).toBe(maxRecordBytes);
      const ids = accepted(await queue.send(records));
      expect(arrivedFor(await received(), ids)).toEqual(sent(records));
    });

    it('answers an empty send with no results, and queues nothing', async () => {
      const { queue, received } = await make();
      await expect(queue.send([])).resolves.toEqual([]);
      await expect(received()).resolves.toEqual([]);
    });

    it('refuses a record over maxRecordBytes alone, reported (not retryable), and queues the records sent with it', async () => {
      const { queue, received } = await make();
      const before = record('k-fine', 'before');
      const after = record('k-fine', 'after');
      // over the limit by its data alone, however the queue counts the key
      const tooBig = record('k-big', new Uint8Array(queue.limits.maxRecordBytes + 1).fill(66));
      const results = await queue.send([before, tooBig, after]);
      expect(results).toHaveLength(3);
      expect(results[1]).toMatchObject({ ok: false, retryable: false, code: expect.any(String), message: expect.any(String) });
      expect(results[0]?.ok && results[2]?.ok).toBe(true);
      const got = await received();
      expect(got.map((r) => [r.partitionKey, hex(r.data)])).toEqual([before, after].map((r) => [r.partitionKey, hex(r.data)]));
    });

    it('reports every record a queue cannot take, without throwing, and nothing arrives', async () => {
      const { received, refusing } = await make();
      const records = [record('k-1', 'one'), record('k-2', 'two')];
      const results = await refusing().send(records);
      expect(results).toHaveLength(2);
      for (const r of results) {
        expect(r.ok).toBe(false);
        if (r.ok) continue;
        expect(typeof r.retryable).toBe('boolean');
        expect(r.code.length).toBeGreaterThan(0);
        expect(r.message.length).toBeGreaterThan(0);
      }
      await expect(received()).resolves.toEqual([]);
    });
  });
};
