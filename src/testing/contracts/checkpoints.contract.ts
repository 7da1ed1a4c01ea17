import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '../vitest.js';
import type { Checkpoints, ShardCheckpoint } from '../../adapters/dynamodb/dynamodb.stream-checkpoints.js';

// What every shard Checkpoints store promises to its callers (src/adapters/streaming/shard-poller.ts,
// used by the Kinesis consumer and the DynamoDB Streams poller): per stream and shard, the last
// sequence number fully handled and whether a closed shard was read to its end (its children start
// only then). The poller is the only writer of a shard's checkpoint and saves it after each batch,
// so each save must be read back at once, exactly (sequence numbers are decimal strings far past a
// double's precision), and the last save wins; streams and shards never see each other's places.
// Refusing a save that goes backwards is not promised (the poller never makes one), so it is not
// asserted. Runners that keep checkpoints somewhere durable say how a restarted process and a
// second consumer of the same stream open them.

export type CheckpointsUnderTest = {
  readonly checkpoints: Checkpoints;
  /** the same store opened again, as a restarted process would (durable stores) */
  readonly reopen?: (() => Checkpoints) | undefined;
  /** another consumer's checkpoints on the same storage (stores that name their consumer) */
  readonly otherConsumer?: (() => Checkpoints) | undefined;
};

export type CheckpointsTraits = {
  /** survives a restart: `reopen` is given */
  readonly durable: boolean;
  /** keeps several consumers of one stream apart by name: `otherConsumer` is given */
  readonly namedConsumers: boolean;
};

const given = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`the runner must give ${what}`);
  return value;
};

/** Kinesis sequence numbers: 56 decimal digits, increasing along a shard. */
const KINESIS_SEQ = '49654473937414426318349557238911457221386215935932809218';
const seq = (n: number): string => `${KINESIS_SEQ.slice(0, -6)}${String(n).padStart(6, '0')}`;
const newStream = (): string => `arn:aws:kinesis:us-east-1:000000000000:stream/contract-${randomUUID()}`;
const shard = (n: number): string => `shardId-${String(n).padStart(12, '0')}`;

export const checkpointsContract = (name: string, traits: CheckpointsTraits, make: () => Promise<CheckpointsUnderTest> | CheckpointsUnderTest): void => {
  describe(`Checkpoints contract: ${name}`, () => {
    it('has no checkpoint for a shard never saved', async () => {
      const { checkpoints } = await make();
      const stream = newStream();
      await expect(checkpoints.get(stream, shard(0))).resolves.toBeUndefined();
      await checkpoints.save(stream, shard(0), { sequenceNumber: seq(1), ended: false });
      await expect(checkpoints.get(stream, shard(1))).resolves.toBeUndefined();
      await expect(checkpoints.get(newStream(), shard(0))).resolves.toBeUndefined();
    });

    it('gives back a saved checkpoint exactly: the 56-digit sequence number as the same string, and ended', async () => {
      const { checkpoints } = await make();
      const stream = newStream();
      await checkpoints.save(stream, shard(0), { sequenceNumber: KINESIS_SEQ, ended: false });
      const got = await checkpoints.get(stream, shard(0));
      expect(got).toEqual({ sequenceNumber: KINESIS_SEQ, ended: false });
      expect(typeof got?.sequenceNumber).toBe('string');
      expect(got?.ended).toBe(false);
      // DynamoDB Streams numbers are shorter, with leading zeros that must stay
      await checkpoints.save(stream, shard(1), { sequenceNumber: '000000000000000000042', ended: false });
      await expect(checkpoints.get(stream, shard(1))).resolves.toEqual({ sequenceNumber: '000000000000000000042', ended: false });
    });

    it('moves forward with every save, each read back at once: the last save wins', async () => {
      const { checkpoints } = await make();
      const stream = newStream();
      for (let n = 1; n <= 12; n++) {
        await checkpoints.save(stream, shard(0), { sequenceNumber: seq(n * 7), ended: false });
        await expect(checkpoints.get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(n * 7), ended: false });
      }
      // the same place saved again (a batch handled again) changes nothing
      await checkpoints.save(stream, shard(0), { sequenceNumber: seq(84), ended: false });
      await expect(checkpoints.get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(84), ended: false });
    });

    it('records a closed shard read to its end, with or without a last sequence number', async () => {
      const { checkpoints } = await make();
      const stream = newStream();
      await checkpoints.save(stream, shard(0), { sequenceNumber: seq(5), ended: false });
      await checkpoints.save(stream, shard(0), { sequenceNumber: seq(9), ended: true });
      await expect(checkpoints.get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(9), ended: true });
      // a closed shard that held nothing (or whose records all expired) ends without one
      await checkpoints.save(stream, shard(1), { sequenceNumber: undefined, ended: true });
      const empty = await checkpoints.get(stream, shard(1));
      expect(empty?.ended).toBe(true);
      expect(empty?.sequenceNumber).toBeUndefined();
    });

    it('keeps every shard and every stream apart, also when shards are saved at once (a parallel round)', async () => {
      const { checkpoints } = await make();
      const [a, b] = [newStream(), newStream()];
      const expected = new Map<string, ShardCheckpoint>();
      const saves: Promise<void>[] = [];
      for (const [s, stream] of [a, b].entries()) {
        for (let i = 0; i < 6; i++) {
          const cp: ShardCheckpoint = { sequenceNumber: seq(100 * s + i), ended: i % 3 === 2 };
          expected.set(`${stream} ${shard(i)}`, cp);
          saves.push(checkpoints.save(stream, shard(i), cp));
        }
      }
      await Promise.all(saves);
      for (const [key, cp] of expected) {
        const [stream, id] = key.split(' ');
        await expect(checkpoints.get(stream!, id!)).resolves.toEqual(cp);
      }
      // moving one shard moves no other
      await checkpoints.save(a, shard(1), { sequenceNumber: seq(999), ended: true });
      await expect(checkpoints.get(a, shard(0))).resolves.toEqual(expected.get(`${a} ${shard(0)}`));
      await expect(checkpoints.get(a, shard(2))).resolves.toEqual(expected.get(`${a} ${shard(2)}`));
      await expect(checkpoints.get(b, shard(1))).resolves.toEqual(expected.get(`${b} ${shard(1)}`));
    });

    if (traits.durable)
      it('a restarted process resumes where the last one saved', async () => {
        const made = await make();
        const { checkpoints } = made;
        const reopen = given(made.reopen, 'reopen');
        const stream = newStream();
        await checkpoints.save(stream, shard(0), { sequenceNumber: seq(31), ended: false });
        await checkpoints.save(stream, shard(1), { sequenceNumber: seq(32), ended: true });
        const again = reopen();
        await expect(again.get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(31), ended: false });
        await expect(again.get(stream, shard(1))).resolves.toEqual({ sequenceNumber: seq(32), ended: true });
        await again.save(stream, shard(0), { sequenceNumber: seq(40), ended: false });
        await expect(reopen().get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(40), ended: false });
      });

    if (traits.namedConsumers)
      it('another consumer of the same stream keeps its own places', async () => {
        const made = await make();
        const { checkpoints } = made;
        const stream = newStream();
        const other = given(made.otherConsumer, 'otherConsumer')();
        await checkpoints.save(stream, shard(0), { sequenceNumber: seq(50), ended: false });
        await expect(other.get(stream, shard(0))).resolves.toBeUndefined();
        await other.save(stream, shard(0), { sequenceNumber: seq(7), ended: false });
        await expect(checkpoints.get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(50), ended: false });
        await expect(other.get(stream, shard(0))).resolves.toEqual({ sequenceNumber: seq(7), ended: false });
      });
  });
};
