import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { KinesisIngestQueue } from '../../src/adapters/kinesis/kinesis.producer.js';

// Partial PutRecords failures, which kinesalite never produces: a scripted client refuses chosen
// entries for a number of rounds; the producer must send again only those, and give up bounded.

type Entry = { PartitionKey: string; Data: Uint8Array };

const scripted = (refuse: (key: string, round: number) => string | undefined) => {
  const rounds: string[][] = [];
  let seq = 0;
  const send = async (cmd: unknown) => {
    if (!(cmd instanceof PutRecordsCommand)) throw new Error('unexpected command');
    const entries = cmd.input.Records as Entry[];
    const round = rounds.push(entries.map((e) => e.PartitionKey));
    const Records = entries.map((e) => {
      const code = refuse(e.PartitionKey, round);
      return code ? { ErrorCode: code, ErrorMessage: 'Rate exceeded for shard' } : { SequenceNumber: String(++seq), ShardId: 'shardId-000000000000' };
    });
    return { Records, FailedRecordCount: Records.filter((r) => 'ErrorCode' in r).length };
  };
  return { client: { send } as unknown as KinesisClient, rounds };
};

const records = (...keys: string[]) => keys.map((partitionKey) => ({ partitionKey, data: new TextEncoder().encode(`{"k":"${partitionKey}"}`) }));

describe('KinesisIngestQueue', () => {
  it('sends again only the entries that failed, until they are taken', async () => {
    const { client, rounds } = scripted((key, round) => (key === 'b' && round < 3 ? 'ProvisionedThroughputExceededException' : undefined));
    const queue = new KinesisIngestQueue(client, { streamName: 's', backoffMs: [1, 2] });
    const out = await queue.send(records('a', 'b', 'c'));
    expect(rounds).toEqual([['a', 'b', 'c'], ['b'], ['b']]);
    expect(out.map((r) => r.ok)).toEqual([true, true, true]);
    expect(out[1]).toEqual({ ok: true, id: '3' }); // taken in the third round, after a (1) and c (2)
  });

  it("gives up after maxAttempts and reports the refused entries with the queue's error code", async () => {
    const { client, rounds } = scripted((key) => (key === 'b' ? 'InternalFailure' : undefined));
    const out = await new KinesisIngestQueue(client, { streamName: 's', maxAttempts: 3, backoffMs: [1, 2] }).send(records('a', 'b'));
    expect(rounds).toHaveLength(3);
    expect(out[0]).toMatchObject({ ok: true });
    expect(out[1]).toMatchObject({ ok: false, retryable: true, code: 'InternalFailure' });
  });

  it('reports every record when the request itself fails, without throwing', async () => {
    const err = Object.assign(new Error('Stream s under account 0 not found.'), { name: 'ResourceNotFoundException' });
    const client = { send: async () => Promise.reject(err) } as unknown as KinesisClient;
    const out = await new KinesisIngestQueue(client, { streamName: 's' }).send(records('a', 'b'));
    expect(out).toEqual([0, 1].map(() => ({ ok: false, retryable: false, code: 'ResourceNotFoundException', message: err.message })));
  });

  it('refuses a record Kinesis would refuse the whole request for alone, before sending, and sends the others', async () => {
    const { client, rounds } = scripted(() => undefined);
    const queue = new KinesisIngestQueue(client, { streamName: 's' });
    const tooBig = { partitionKey: 'big', data: new Uint8Array(1024 * 1024 - 2) };
    const out = await queue.send([
      ...records('a'),
      tooBig,
      { partitionKey: '', data: new Uint8Array(1) },
      { partitionKey: 'k'.repeat(257), data: new Uint8Array(1) },
      ...records('b'),
    ]);
    expect(rounds).toEqual([['a', 'b']]);
    expect(out).toEqual([
      { ok: true, id: '1' },
      { ok: false, retryable: false, code: 'RecordTooLarge', message: expect.stringContaining('1048577 bytes') },
      { ok: false, retryable: false, code: 'InvalidPartitionKey', message: expect.stringContaining('got 0') },
      { ok: false, retryable: false, code: 'InvalidPartitionKey', message: expect.stringContaining('got 257') },
      { ok: true, id: '2' },
    ]);
  });

  it('splits what exceeds one PutRecords call (500 records) and keeps the order of results', async () => {
    const { client, rounds } = scripted(() => undefined);
    const keys = Array.from({ length: 1_201 }, (_, i) => `k${i}`);
    const out = await new KinesisIngestQueue(client, { streamName: 's' }).send(records(...keys));
    expect(rounds.map((r) => r.length)).toEqual([500, 500, 201]);
    expect(out.map((r) => (r.ok ? Number(r.id) : -1))).toEqual(keys.map((_, i) => i + 1));
  });
});
