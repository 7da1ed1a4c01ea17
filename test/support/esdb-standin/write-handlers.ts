import * as grpc from '@grpc/grpc-js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { Expected, Proposed, StandInLog } from './log.js';
import { empty, expectedOf, outcomeError, streamNameOf, tooLarge, streamDeleted, uuidOf } from './wire.js';

// Streams.Append (client streaming: one options message, then the proposed messages), Delete and
// Tombstone. A wrong expected version on Append is a result message, not an error, as on the server.

export const appendHandler =
  (log: StandInLog) =>
  (call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>, callback: grpc.sendUnaryData<streamsPb.AppendResp>): void => {
    let stream: string | undefined;
    let expected: Expected = { kind: 'any' };
    let expectedSource: streamsPb.AppendReq.Options | undefined;
    const proposed: Proposed[] = [];
    let failed = false;
    call.on('data', (req: streamsPb.AppendReq) => {
      if (req.hasOptions()) {
        expectedSource = req.getOptions()!;
        stream = streamNameOf(expectedSource.getStreamIdentifier());
        expected = expectedOf(expectedSource);
        return;
      }
      const m = req.getProposedMessage();
      if (!m || stream === undefined) {
        failed = true;
        return;
      }
      proposed.push({
        id: uuidOf(m.getId()),
        metadata: new Map(m.getMetadataMap().toArray() as [string, string][]),
        data: m.getData_asU8(),
        custom: m.getCustomMetadata_asU8(),
      });
    });
    call.on('error', () => undefined);
    call.on('end', () => {
      if (failed || stream === undefined) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'the first append message must carry the options' });
      const outcome = log.append(stream, expected, proposed);
      if (!outcome.ok) {
        if (outcome.reason === 'stream_deleted') return callback(streamDeleted(stream));
        if (outcome.reason === 'too_large') return callback(tooLarge(outcome.max));
        return callback(null, wrongVersionResp(expected, outcome.current));
      }
      const success = new streamsPb.AppendResp.Success();
      if (outcome.revision < 0n) success.setNoStream(empty());
      else success.setCurrentRevision(outcome.revision.toString());
      const position = new streamsPb.AppendResp.Position();
      position.setCommitPosition(outcome.position.toString());
      position.setPreparePosition(outcome.position.toString());
      success.setPosition(position);
      callback(null, new streamsPb.AppendResp().setSuccess(success));
    });
  };

const wrongVersionResp = (expected: Expected, current: bigint | undefined): streamsPb.AppendResp => {
  const wev = new streamsPb.AppendResp.WrongExpectedVersion();
  if (current === undefined) wev.setCurrentNoStream(empty());
  else wev.setCurrentRevision(current.toString());
  switch (expected.kind) {
    case 'any':
      wev.setExpectedAny(empty());
      break;
    case 'no_stream':
      wev.setExpectedNoStream(empty());
      break;
    case 'stream_exists':
      wev.setExpectedStreamExists(empty());
      break;
    case 'revision':
      wev.setExpectedRevision(expected.revision.toString());
  }
  return new streamsPb.AppendResp().setWrongExpectedVersion(wev);
};

type DeleteLike = { getOptions(): (Parameters<typeof expectedOf>[0] & { getStreamIdentifier(): Parameters<typeof streamNameOf>[0] }) | undefined };

const deletion =
  <Req extends DeleteLike, Resp>(
    act: (log: StandInLog, stream: string, expected: Expected) => ReturnType<StandInLog['tombstone']>,
    make: (commit: string, prepare: string) => Resp,
  ) =>
  (log: StandInLog) =>
  (call: grpc.ServerUnaryCall<Req, Resp>, callback: grpc.sendUnaryData<Resp>): void => {
    const options = call.request.getOptions();
    if (!options) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'options are required' });
    const stream = streamNameOf(options.getStreamIdentifier());
    const expected = expectedOf(options);
    const outcome = act(log, stream, expected);
    if (!outcome.ok) return callback(outcomeError(stream, expected, outcome));
    callback(null, make(outcome.position.toString(), outcome.position.toString()));
  };

export const deleteHandler = deletion<streamsPb.DeleteReq, streamsPb.DeleteResp>(
  (log, stream, expected) => log.softDelete(stream, expected),
  (commit, prepare) => {
    const p = new streamsPb.DeleteResp.Position();
    p.setCommitPosition(commit);
    p.setPreparePosition(prepare);
    return new streamsPb.DeleteResp().setPosition(p);
  },
);

export const tombstoneHandler = deletion<streamsPb.TombstoneReq, streamsPb.TombstoneResp>(
  (log, stream, expected) => log.tombstone(stream, expected),
  (commit, prepare) => {
    const p = new streamsPb.TombstoneResp.Position();
    p.setCommitPosition(commit);
    p.setPreparePosition(prepare);
    return new streamsPb.TombstoneResp().setPosition(p);
  },
);
