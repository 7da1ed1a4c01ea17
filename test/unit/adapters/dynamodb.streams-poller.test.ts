import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpoints } from '../../../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { DynamoDbStreamsPoller, type StreamBatchHandler } from '../../../src/adapters/dynamodb/dynamodb.streams-poller.js';
import type { DynamoDbStreamRecord, StreamBatchResult } from '../../../src/adapters/dynamodb/dynamodb.streams-projector.js';

// The poller's shard handling against a scripted stream: lineage (a closed parent first, then its
// child), checkpoints across restarts, a failed batch read again from where it failed, and a stop
// that does not wait out the idle backoff. DynamoDB Local only ever has one shard, so lineage can
// only be shown here.

const ARN = 'arn:aws:dynamodb:local:000000000000:table/events/stream/1';
type Shard = { id: string; parent?: string; closed: boolean; seqs: string[] };

/** A stream whose shards and records the test controls; iterators are "<shard>:<index>". */
const fakeStreams = (shards: Shard[]) => {
  const calls: string[] = [];
  const send = async (cmd: unknown) => {
    if (cmd instanceof DescribeStreamCommand) {
      // one shard per page, to exercise pagination
      const at = cmd.input.ExclusiveStartShardId === undefined ? 0 : shards.findIndex((s) => s.id === cmd.input.ExclusiveStartShardId) + 1;
      const s = shards[at]!;
      return { StreamDescription: { Shards: [{ ShardId: s.id, ParentShardId: s.parent }], LastEvaluatedShardId: at + 1 < shards.length ? s.id : undefined } };
    }
    if (cmd instanceof GetShardIteratorCommand) {
      const s = shards.find((x) => x.id === cmd.input.ShardId)!;
      calls.push(`iterator ${s.id} ${cmd.input.ShardIteratorType} ${cmd.input.SequenceNumber ?? ''}`.trim());
      const from = cmd.input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? s.seqs.indexOf(cmd.input.SequenceNumber!) + 1 : 0;
      return { ShardIterator: `${s.id}:${from}` };
    }
    if (cmd instanceof GetRecordsCommand) {
      const [id, from] = cmd.input.ShardIterator!.split(':') as [string, string];
      const s = shards.find((x) => x.id === id)!;
      const records = s.seqs
        .slice(Number(from), Number(from) + (cmd.input.Limit ?? 1000))
        .map((seq) => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: seq } }));
      const next = Number(from) + records.length;
      return { Records: records, NextShardIterator: s.closed && next >= s.seqs.length ? undefined : `${id}:${next}` };
    }
    throw new Error(`unexpected command ${String(cmd)}`);
  };
  return { client: { send } as unknown as DynamoDBStreamsClient, calls };
};

const ok = (): StreamBatchResult => ({ batchItemFailures: [], rejected: [], errors: [], projected: 0, ignored: 0 });
const recorder = (seen: string[], failOnce?: string): StreamBatchHandler => {
  let failed = false;
  return {
    handle: async (records: readonly DynamoDbStreamRecord[]) => {
      const seqs = records.map((r) => r.dynamodb!.SequenceNumber!);
      const at = failOnce === undefined || failed ? -1 : seqs.indexOf(failOnce);
      if (at < 0) return (seen.push(...seqs), ok());
      failed = true;
      seen.push(...seqs.slice(0, at));
      return { ...ok(), batchItemFailures: seqs.slice(at).map((itemIdentifier) => ({ itemIdentifier })), errors: [new Error('throttled')] };
    },
  };
};

const options = (checkpoints: MemoryCheckpoints) => ({
  streamArn: ARN,
  checkpoints,
  batchSize: 2,
  idleDelayMs: [1, 5] as [number, number],
  retryDelayMs: [1, 5] as [number, number],
});

describe('DynamoDbStreamsPoller', () => {
  it('reads a closed parent shard to its end before its child, and marks it ended', async () => {
    const shards: Shard[] = [
      { id: 'child', parent: 'parent', closed: false, seqs: ['200', '201'] },
      { id: 'parent', closed: true, seqs: ['100', '101', '102'] },
    ];
    const { client } = fakeStreams(shards);
    const seen: string[] = [];
    const checkpoints = new MemoryCheckpoints();
    await new DynamoDbStreamsPoller(client, recorder(seen), options(checkpoints)).drain({ quietMs: 10 });
    expect(seen).toEqual(['100', '101', '102', '200', '201']);
    expect(await checkpoints.get(ARN, 'parent')).toEqual({ sequenceNumber: '102', ended: true });
    expect(await checkpoints.get(ARN, 'child')).toEqual({ sequenceNumber: '201', ended: false });
  });

  it('starts again after its checkpoints: nothing twice, new records once', async () => {
    const shards: Shard[] = [{ id: 'only', closed: false, seqs: ['1', '2', '3'] }];
    const { client, calls } = fakeStreams(shards);
    const seen: string[] = [];
    const checkpoints = new MemoryCheckpoints();
    await new DynamoDbStreamsPoller(client, recorder(seen), options(checkpoints)).drain({ quietMs: 10 });
    shards[0]!.seqs.push('4', '5');
    await new DynamoDbStreamsPoller(client, recorder(seen), options(checkpoints)).drain({ quietMs: 10 });
    expect(seen).toEqual(['1', '2', '3', '4', '5']);
    expect(calls).toEqual(['iterator only TRIM_HORIZON', 'iterator only AFTER_SEQUENCE_NUMBER 3']);
  });

  it('reads a failed batch again from its first failed record, keeping what succeeded before it', async () => {
    const { client, calls } = fakeStreams([{ id: 'only', closed: false, seqs: ['1', '2', '3', '4'] }]);
    const seen: string[] = [];
    const errors: unknown[] = [];
    const checkpoints = new MemoryCheckpoints();
    await new DynamoDbStreamsPoller(client, recorder(seen, '4'), { ...options(checkpoints), onError: (e) => errors.push(e) }).drain({ quietMs: 10 });
    expect(seen).toEqual(['1', '2', '3', '4']);
    expect(calls).toEqual(['iterator only TRIM_HORIZON', 'iterator only AFTER_SEQUENCE_NUMBER 3']);
    expect(String(errors[0])).toMatch(/throttled/);
  });

  it('stops at once while idle, without waiting out its backoff', async () => {
    const { client } = fakeStreams([{ id: 'only', closed: false, seqs: [] }]);
    const poller = new DynamoDbStreamsPoller(client, recorder([]), { ...options(new MemoryCheckpoints()), idleDelayMs: [5_000, 5_000] });
    poller.start();
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await poller.stop();
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
