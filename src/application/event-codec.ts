import type { CustomerEvent, RecordedEvent } from '../domain/customer/customer.events.js';
import { upcast } from '../domain/customer/customer.upcasters.js';
import type { StoredEvent } from './ports/event-store.port.js';
import type { Cipher, DataKey } from './ports/keys.port.js';

// Domain events <-> the storage format. Personal fields (`pii`) are encrypted under the customer's
// data key with the event's identity as associated data; a destroyed key decodes as "erased"
// (pii absent), never as a crash; a ciphertext that fails authentication under a live key throws.

const aad = (tenant: string, streamId: string, eventId: string): string => `${tenant}/${streamId}/${eventId}`;

export class EventCodec {
  constructor(private readonly cipher: Cipher) {}

  encode(tenant: string, r: RecordedEvent, key: DataKey | null, recordedAt: number): StoredEvent {
    const pii = (r.event as { pii?: unknown }).pii;
    if (pii !== undefined && !key) throw new Error(`event ${r.eventId} holds personal data but no data key was given`);
    return {
      tenant,
      streamId: r.streamId,
      version: r.version,
      eventId: r.eventId,
      type: r.event.type,
      v: r.event.v,
      observedAt: r.observedAt,
      recordedAt,
      source: r.source,
      sourcePriority: r.sourcePriority,
      channel: r.channel,
      messageId: r.messageId,
      identifierKeys: r.identifierKeys,
      data: r.event.data,
      pii: pii === undefined ? undefined : this.cipher.encrypt(key!, JSON.stringify(pii), aad(tenant, r.streamId, r.eventId)),
    };
  }

  decode(s: StoredEvent, key: DataKey | null): RecordedEvent {
    return recordedEvent(s, this.decodeEvent(s, key));
  }

  /** The event of `s` without its envelope (the stored event is one): what a rebuild folds. */
  decodeEvent(s: StoredEvent, key: DataKey | null): CustomerEvent {
    // no key (destroyed: the customer was erased) reads as erased; a live key that fails to
    // authenticate the ciphertext is tampering or a bug, and must not pass for an erasure
    const pii: unknown = s.pii !== undefined && key ? JSON.parse(this.cipher.decrypt(key, s.pii, aad(s.tenant, s.streamId, s.eventId))) : undefined;
    return eventOf(s, pii);
  }

  /**
   * One stream's events, read after its key was fetched. A stream that holds its tombstone is
   * decoded without a key whatever the key store handed out: a key cached by a warm process
   * (another process may have erased the customer a moment ago) is never used after the tombstone.
   */
  decodeStream(stored: readonly StoredEvent[], key: DataKey | null): RecordedEvent[] {
    const usable = key && !stored.some(isTombstone) ? key : null;
    return stored.map((s) => this.decode(s, usable));
  }
}

export const isTombstone = (s: StoredEvent): boolean => s.type === 'CustomerErased';

/** The event of a stored event, lifted to the current schema; `pii` as decrypted, or absent. */
const eventOf = (s: StoredEvent, pii: unknown): CustomerEvent =>
  // two literals rather than a conditional spread: this runs once per event of every rebuild
  upcast(pii === undefined ? { type: s.type, v: s.v, data: s.data } : { type: s.type, v: s.v, data: s.data, pii });

/** A decoded event with the envelope of the stored event it came from. */
export const recordedEvent = (s: StoredEvent, event: CustomerEvent): RecordedEvent => ({
  eventId: s.eventId,
  streamId: s.streamId,
  version: s.version,
  observedAt: s.observedAt,
  source: s.source,
  sourcePriority: s.sourcePriority,
  channel: s.channel,
  messageId: s.messageId,
  identifierKeys: s.identifierKeys,
  event,
});

/** The readable part of a stored event (all that identity folds need: no key, no decryption). */
export const decodeReadable = (s: StoredEvent, pii?: unknown): RecordedEvent => recordedEvent(s, eventOf(s, pii));
