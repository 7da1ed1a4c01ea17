import * as grpc from '@grpc/grpc-js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type { Expected, Outcome } from './log.js';

// Conversions between the protobuf messages and the stand-in's log, and the server's error shapes:
// the client maps errors by the `exception` trailer (see its CommandError.convertToCommandError).

type ExpectedSource = {
  hasAny(): boolean;
  hasNoStream(): boolean;
  hasStreamExists(): boolean;
  getRevision(): string;
};

export const expectedOf = (o: ExpectedSource): Expected => {
  if (o.hasAny()) return { kind: 'any' };
  if (o.hasNoStream()) return { kind: 'no_stream' };
  if (o.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'revision', revision: BigInt(o.getRevision()) };
};

export const streamNameOf = (id: sharedPb.StreamIdentifier | undefined): string => Buffer.from(id?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');

export const streamIdentifier = (name: string): sharedPb.StreamIdentifier => {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Buffer.from(name, 'utf8'));
  return id;
};

export const uuidOf = (id: sharedPb.UUID | undefined): string => {
  if (!id) return crypto.randomUUID();
  if (id.hasString()) return id.getString();
  const s = id.getStructured()!;
  const hex = (v: string) => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
  const h = hex(s.getMostSignificantBits()) + hex(s.getLeastSignificantBits());
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export const uuid = (value: string): sharedPb.UUID => {
  const id = new sharedPb.UUID();
  id.setString(value);
  return id;
};

export const empty = (): sharedPb.Empty => new sharedPb.Empty();

const failure = (code: grpc.status, details: string, trailers: Record<string, string>): Partial<grpc.StatusObject> => {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return { code, details, metadata };
};

export const streamDeleted = (stream: string) =>
  failure(grpc.status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, { exception: 'stream-deleted', 'stream-name': stream });

/** Delete and Tombstone report a wrong expected version as an error, unlike Append's result message. */
export const wrongExpectedVersion = (stream: string, expected: Expected, current: bigint | undefined) => {
  const trailers: Record<string, string> = { exception: 'wrong-expected-version', 'stream-name': stream, 'expected-version': String(expectedNumber(expected)) };
  if (current !== undefined) trailers['actual-version'] = String(current);
  return failure(
    grpc.status.FAILED_PRECONDITION,
    `Append failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${expectedNumber(expected)}, Actual version: ${current ?? -1}`,
    trailers,
  );
};

// the server's legacy numbers for the special expectations
const expectedNumber = (e: Expected): bigint => {
  switch (e.kind) {
    case 'any':
      return -2n;
    case 'no_stream':
      return -1n;
    case 'stream_exists':
      return -4n;
    case 'revision':
      return e.revision;
  }
};

export const tooLarge = (max: number) =>
  failure(grpc.status.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(max),
  });

/** Turns a failed outcome of delete/tombstone into the server's error. */
export const outcomeError = (stream: string, expected: Expected, outcome: Exclude<Outcome, { ok: true }>) => {
  switch (outcome.reason) {
    case 'stream_deleted':
      return streamDeleted(stream);
    case 'wrong_expected_version':
      return wrongExpectedVersion(stream, expected, outcome.current);
    case 'too_large':
      return tooLarge(outcome.max);
  }
};
