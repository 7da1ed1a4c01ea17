import * as grpc from '@grpc/grpc-js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { Recorded, StandInLog } from './log.js';
import { streamDeleted, streamIdentifier, uuid } from './wire.js';

// Streams.Read for one stream or $all: direction, start/end/revision/position, count. A missing
// stream is a stream_not_found message (not an error), a tombstoned one an error, as on the server.
// Subscriptions, server-side filters and link resolution are not served: the stand-in refuses them.

const FORWARDS = 0;

export const readHandler =
  (log: StandInLog) =>
  (call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>): void => {
    const o = call.request.getOptions();
    if (!o) return void call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'options are required' });
    if (o.hasSubscription() || o.hasFilter() || o.getResolveLinks()) {
      return void call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'the stand-in serves plain reads only' });
    }
    const forwards = o.getReadDirection() === FORWARDS;
    const count = BigInt(o.getCount() || '0');
    let events: readonly Recorded[];
    if (o.hasStream()) {
      const s = o.getStream()!;
      const name = Buffer.from(s.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
      if (log.isTombstoned(name)) {
        call.emit('error', streamDeleted(name));
        return;
      }
      const visible = log.visible(name);
      if (!visible) {
        const nf = new streamsPb.ReadResp.StreamNotFound();
        nf.setStreamIdentifier(streamIdentifier(name));
        call.write(new streamsPb.ReadResp().setStreamNotFound(nf));
        return void call.end();
      }
      const from = s.hasRevision() ? BigInt(s.getRevision()) : undefined;
      if (forwards) events = s.hasEnd() ? [] : visible.filter((e) => from === undefined || e.revision >= from);
      else events = (s.hasStart() ? visible.slice(0, 1) : visible.filter((e) => from === undefined || e.revision <= from)).slice().reverse();
    } else {
      const a = o.getAll()!;
      const from = a.hasPosition() ? BigInt(a.getPosition()!.getCommitPosition()) : undefined;
      // forwards from a position includes the event there; backwards from a position excludes it
      if (forwards) events = a.hasEnd() ? [] : log.all.filter((e) => from === undefined || e.position >= from);
      else events = (a.hasStart() ? [] : log.all.filter((e) => from === undefined || e.position < from)).slice().reverse();
    }
    let sent = 0n;
    for (const e of events) {
      if (sent >= count) break;
      call.write(new streamsPb.ReadResp().setEvent(readEvent(e)));
      sent++;
    }
    call.end();
  };

const readEvent = (e: Recorded): streamsPb.ReadResp.ReadEvent => {
  const r = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  r.setId(uuid(e.id));
  r.setStreamIdentifier(streamIdentifier(e.stream));
  r.setStreamRevision(e.revision.toString());
  r.setCommitPosition(e.position.toString());
  r.setPreparePosition(e.position.toString());
  const metadata = r.getMetadataMap();
  for (const [k, v] of e.metadata) metadata.set(k, v);
  metadata.set('created', e.created.toString());
  r.setCustomMetadata(e.custom);
  r.setData(e.data);
  const event = new streamsPb.ReadResp.ReadEvent();
  event.setEvent(r);
  event.setCommitPosition(e.position.toString());
  return event;
};
