import { decide } from '../../domain/customer/customer.decider.js';
import type { Channel } from '../../domain/customer/customer.events.js';
import { initialState, type CustomerState } from '../../domain/customer/customer.state.js';
import { normalizeIdentifier, normalizeIdentifierType, type KeyedIdentifier } from '../../domain/identity/identifier.js';
import { resolve, type Rejection, type Resolution } from '../../domain/identity/resolution.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CommandPipeline, Decision } from '../commands/command-pipeline.js';
import { PendingStream, type EventStamp } from '../commands/pending-stream.js';
import type { CorePorts } from '../deps.js';
import { quarantineMatchKeys } from '../gdpr/quarantine-scrub.js';
import { quarantinePayloadJson, type QuarantineIntake, type QuarantineReason } from '../ports/quarantine.port.js';
import { StoreUnavailable } from '../ports/store-unavailable.js';
import { mapSegmentCall, type Observation } from '../segment/segment.mapper.js';
import { parseSegmentCall } from '../segment/segment.fast-parse.js';
import { formatPath, SegmentBatch, type SegmentCall, zodIssues, type FieldIssue } from '../segment/segment.schema.js';
import { boundedCall, deeperThan, deepJsonText, MAX_KEPT_DEPTH } from './call-bounds.js';
import { derivedMessageId, knownByContent, mergeBatchDefaults, payloadHashOfText, payloadText, withoutWriteKey } from './call-shape.js';
import { batchIdentity, refusedBatchEntry, requestCalls, type BatchOptions, type RefusedCall } from './refused-batch.js';

const CONSENT_EVENTS: ReadonlySet<string> = new Set(['ConsentGranted', 'ConsentWithdrawn']);

// The write path: parse -> normalize -> resolve -> one atomic commit -> project. Invalid input is
// quarantined with its reason; the same messageId twice changes nothing.

export type IngestSource = { readonly name: string; readonly priority: number; readonly channel: Channel };

export type IngestOutcome =
  | {
      readonly status: 'accepted';
      readonly messageId: string;
      readonly customerId: string;
      /** the customer's stream version after this call: its 360 view has it once projected (GET ?minVersion=) */
      readonly viewVersion: number;
      readonly created: boolean;
      readonly merged: readonly string[];
      readonly rejected: readonly { readonly type: string; readonly reason: string }[];
    }
  | { readonly status: 'duplicate'; readonly messageId: string }
  | {
      readonly status: 'quarantined';
      readonly quarantineId: string;
      readonly error: QuarantineReason;
      /**
       * why the entry cannot be replayed, when it keeps no call (a call nested deeper than
       * MAX_KEPT_DEPTH, kept as its JSON text); absent when it keeps the call, replayed after a fix
       */
      readonly notReplayable?: string | undefined;
    }
  /** only from tryIngest (quarantine replays): refused again, nothing new quarantined */
  | { readonly status: 'rejected'; readonly error: QuarantineReason };

/** batch members decided at once: enough to fill a group commit, few enough to bound one request's work */
const BATCH_CONCURRENCY = 128;

class Rejected extends Error {
  constructor(readonly reason: QuarantineReason) {
    super(reason.message);
  }
}

export class IngestUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
  ) {}

  /** One Segment call. Never throws for bad input: it is quarantined and the outcome says why. */
  /** `position`: the call's place in what brought it (see derivedMessageId), e.g. a stream record's sequence number */
  async ingest(tenant: string, source: IngestSource, raw: unknown, receivedAt = this.ports.clock.now(), position: number | string = 0): Promise<IngestOutcome> {
    const outcome = await this.tryIngest(tenant, source, raw, receivedAt, position);
    // a position given as text names one arrival (a stream record's sequence number): read again, the same entry
    return outcome.status === 'rejected'
      ? this.quarantine(tenant, source, raw, outcome.error, receivedAt, undefined, typeof position === 'string' ? position : undefined)
      : outcome;
  }

  /** Like ingest, but a refusal is only reported, not quarantined (used to replay the quarantine). */
  /** `position`: the call's place in its batch (see derivedMessageId) */
  async tryIngest(
    tenant: string,
    source: IngestSource,
    raw: unknown,
    receivedAt = this.ports.clock.now(),
    position: number | string = 0,
  ): Promise<IngestOutcome> {
    try {
      return await this.ingestValid(tenant, source, this.parse(raw), raw, receivedAt, position);
    } catch (e) {
      if (e instanceof Rejected) return { status: 'rejected', error: e.reason };
      if (e instanceof DomainError) {
        return {
          status: 'rejected',
          error: { code: e.code, message: e.message, issues: e.path.length ? [{ path: formatPath(e.path), message: e.message }] : [] },
        };
      }
      throw e;
    }
  }

  /**
   * POST /v1/batch semantics: every call is its own unit; shared context applies to each. The calls
   * refused (invalid, no usable identifier, a reused messageId, a failure of ours) are kept in ONE
   * quarantine entry for the batch (refused-batch.ts), each answered with that entry's id.
   * `options`: when the body holds only some of the request's calls (BatchOptions); the calls
   * refused already are kept in the same entry, their outcomes after those of the body's calls.
   */
  async ingestBatch(
    tenant: string,
    source: IngestSource,
    body: unknown,
    receivedAt = this.ports.clock.now(),
    options: BatchOptions = {},
  ): Promise<readonly IngestOutcome[]> {
    const parsed = SegmentBatch.safeParse(body);
    if (!parsed.success) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `batch body is invalid: ${zodIssues(parsed.error)
          .map((i) => `${i.path}: ${i.message}`)
          .join('; ')}`,
        ['batch'],
      );
    }
    // the shared context and integrations as sent, not as the schema's records copied them: a copy
    // leaves out a `__proto__` key, which must reach each call to be refused there, naming it
    const { batch } = parsed.data;
    const { context, integrations } = body as { readonly context?: object; readonly integrations?: object };
    const before = options.refused ?? [];
    const out: (IngestOutcome | undefined)[] = new Array(batch.length + before.length);
    const refused: { readonly at: number; readonly refused: RefusedCall }[] = before.map((r, j) => ({ at: batch.length + j, refused: r }));
    // Members run concurrently, a slice at a time, so their commits group in the store. Each one
    // takes its identifiers' locks before its first await, in batch order: members sharing an
    // identifier keep their order, the others interleave.
    for (let start = 0; start < batch.length; start += BATCH_CONCURRENCY) {
      const slice = batch.slice(start, start + BATCH_CONCURRENCY);
      const done = await Promise.all(
        slice.map((call, i) =>
          this.tryIsolated(tenant, source, mergeBatchDefaults(call, context, integrations), receivedAt, options.indexes?.[start + i] ?? start + i),
        ),
      );
      done.forEach((o, i) => {
        const at = start + i;
        if (o.status === 'rejected') refused.push({ at, refused: { index: options.indexes?.[at] ?? at, call: slice[i], reason: o.error } });
        else out[at] = o;
      });
    }
    if (refused.length) {
      const entry = refusedBatchEntry(
        body,
        options.total ?? batch.length,
        refused.map((r) => r.refused).sort((a, b) => a.index - b.index),
        requestCalls(batch, options),
      );
      try {
        const { quarantineId } = await this.quarantine(tenant, source, entry.payload, entry.reason, receivedAt, undefined, entry.arrival);
        for (const r of refused) out[r.at] = { status: 'quarantined', quarantineId, error: r.refused.reason };
      } catch (e) {
        // not kept: each refused call is reported as such, to be sent again
        for (const r of refused) {
          const { code, message } = r.refused.reason;
          const error = {
            code: 'INTERNAL_ERROR',
            message: `this call was refused (${code}: ${message}) and could not be kept (${(e as Error).message}); send it again`,
            issues: r.refused.reason.issues,
          };
          out[r.at] = { status: 'rejected', error };
        }
      }
    }
    return out as IngestOutcome[];
  }

  /** A batch member: an unexpected failure is reported as a refusal of its own (and kept), never thrown. */
  private async tryIsolated(tenant: string, source: IngestSource, raw: unknown, receivedAt: number, position: number): Promise<IngestOutcome> {
    try {
      return await this.tryIngest(tenant, source, raw, receivedAt, position);
    } catch (e) {
      // the store out of reach is said as such (the batch's other calls may have been stored)
      const code = e instanceof StoreUnavailable ? 'STORE_UNAVAILABLE' : 'INTERNAL_ERROR';
      return { status: 'rejected', error: { code, message: `this call was not processed (${(e as Error).message}); send it again`, issues: [] } };
    }
  }

  /** The call, and the text of its payload hash when the bounds' walk wrote it (see boundedCall). */
  private parse(raw: unknown): { readonly call: SegmentCall; readonly hashText: string | undefined } {
    // before anything walks it: a call nested thousands deep would overflow the stack of the walks below
    const { problem, hashText } = boundedCall(raw);
    if (problem) throw new Rejected(problem);
    const parsed = parseSegmentCall(raw);
    if (!parsed.success) {
      const issues = zodIssues(parsed.error);
      throw new Rejected({ code: 'VALIDATION_FAILED', message: `invalid Segment call: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues });
    }
    return { call: parsed.data, hashText };
  }

  private async ingestValid(
    tenant: string,
    source: IngestSource,
    { call, hashText }: { readonly call: SegmentCall; readonly hashText: string | undefined },
    raw: unknown,
    receivedAt: number,
    position: number | string,
  ): Promise<IngestOutcome> {
    const { hasher, settings } = this.ports;
    const observation = mapSegmentCall(call, receivedAt, source.channel);
    const region = settings.phoneRegion(tenant);
    const rules = settings.identityRules(tenant);
    const identifiers: KeyedIdentifier[] = [];
    const invalid = new Map<string, Rejection>();
    // an alias's previousId as a user id, by the key of the same value as an anonymous id
    const asUserId = new Map<string, KeyedIdentifier>();
    for (const r of observation.identifiers) {
      // a placeholder such as "n/a" in an email field is a blocked value, not a broken call
      const raw = r.raw.trim();
      if (rules.isBlocked({ type: r.type, value: raw })) {
        const id = { type: r.type, value: raw.toLowerCase() };
        identifiers.push({ ...id, key: hasher.claimKey(tenant, id.type, id.value) });
        continue;
      }
      try {
        const id = normalizeIdentifier(r.type, r.raw, { defaultRegion: region }, r.path);
        const keyed = { ...id, key: hasher.claimKey(tenant, id.type, id.value) };
        identifiers.push(keyed);
        if (r.orUserId) {
          const user = normalizeIdentifier('user_id', r.raw, { defaultRegion: region }, r.path);
          asUserId.set(keyed.key, { ...user, key: hasher.claimKey(tenant, user.type, user.value) });
        }
      } catch (e) {
        // a mistyped email is rejected as an identifier, like a blocked one; the rest of the call is kept
        if (!(e instanceof DomainError) || e.code !== 'IDENTIFIER_INVALID') throw e;
        const type = normalizeIdentifierType(r.type);
        const identifier = { type, value: raw, key: hasher.claimKey(tenant, type, raw) };
        invalid.set(identifier.key, { identifier, reason: 'IDENTIFIER_INVALID', detail: e.message, path: r.path });
      }
    }
    // keyed: the hash lands in readable fields (event ids, the idempotency record)
    const payloadHash = payloadHashOfText(hasher, tenant, hashText ?? payloadText(raw));
    const messageId = call.messageId ?? derivedMessageId(hasher, tenant, call, payloadHash, receivedAt, position);
    const newCustomerId = this.ports.ids.customerId();
    return this.pipeline.run<IngestOutcome>({
      tenant,
      name: 'this call',
      lockKeys: (asUserId.size === 0 ? identifiers : [...identifiers, ...asUserId.values()]).map((i) => `${tenant}\u0000${i.key}`),
      idempotency: { key: messageId, payloadHash, duplicate: (stored) => this.duplicate(messageId, stored, payloadHash) },
      decide: () =>
        this.decide(tenant, source, observation, { identifiers, invalid: [...invalid.values()], asUserId }, { messageId, payloadHash, newCustomerId }),
    });
  }

  private duplicate(messageId: string, storedHash: string, payloadHash: string): IngestOutcome {
    if (storedHash !== payloadHash) {
      throw new Rejected({
        code: 'IDEMPOTENCY_CONFLICT',
        message: `messageId ${messageId} was already used for a different payload`,
        issues: [{ path: 'messageId', message: 'reused for a different payload' }],
      });
    }
    this.ports.metrics.increment('ingest_duplicate');
    return { status: 'duplicate', messageId };
  }

  /** Resolves the call against the claims and states as they are now, and runs the commands it implies. */
  private async decide(
    tenant: string,
    source: IngestSource,
    obs: Observation,
    call: {
      readonly identifiers: readonly KeyedIdentifier[];
      readonly invalid: readonly Rejection[];
      readonly asUserId: ReadonlyMap<string, KeyedIdentifier>;
    },
    { messageId, payloadHash, newCustomerId }: { readonly messageId: string; readonly payloadHash: string; readonly newCustomerId: string },
  ): Promise<Decision<IngestOutcome>> {
    const { store, settings, hasher, metrics } = this.ports;
    const { invalid, asUserId } = call;
    const rules = settings.identityRules(tenant);
    const claimed = await store.readClaims(
      tenant,
      (asUserId.size === 0 ? call.identifiers : [...call.identifiers, ...asUserId.values()]).map((i) => i.key),
    );
    // an alias's previousId is a user id when a customer holds it as one (and an anonymous id too
    // only when a customer holds that as well): the user id gives way first on a violation. Every
    // other call (all but an alias) skips this
    const dropFirst = new Set<string>();
    const identifiers =
      asUserId.size === 0
        ? call.identifiers
        : call.identifiers.flatMap((i) => {
            const user = asUserId.get(i.key);
            if (!user || !claimed.has(user.key)) return [i];
            dropFirst.add(user.key);
            return claimed.has(i.key) ? [i, user] : [user];
          });
    const owners = new Map<string, string>();
    const customers = new Map<string, CustomerState>();
    for (const [key, owner] of claimed) {
      const survivor = await this.repo.loadSurvivor(tenant, owner);
      // an erasure's tombstone landed after these claims were read: its release follows, so read again
      if (survivor.status === 'erased') return { kind: 'retry', evict: [owner, survivor.id] };
      owners.set(key, survivor.id);
      customers.set(survivor.id, survivor);
    }
    const resolution = resolve({ incoming: identifiers, invalid, owners, customers, rules, observedAt: obs.observedAt, newCustomerId, dropFirst });
    if (resolution.kind === 'unresolvable') {
      throw new Rejected({
        code: 'NO_USABLE_IDENTIFIER',
        message: 'every identifier of this call was rejected, so it cannot be attributed to a customer',
        issues: resolution.rejected.map((r) => ({ path: r.path ? formatPath(r.path) : r.identifier.type, message: `${r.reason}: ${r.detail}` })),
      });
    }
    const rejectedKeys = new Set(resolution.rejected.map((r) => r.identifier.key));
    const stamp: EventStamp = {
      observedAt: obs.observedAt,
      source: source.name,
      sourcePriority: source.priority,
      channel: obs.channel,
      messageId,
      identifierKeys: identifiers.filter((i) => !rejectedKeys.has(i.key)).map((i) => i.key),
    };
    // event ids derive from the idempotency key: the payload hash covers the messageId (or is it),
    // and a reused messageId with another payload never commits; then stream ordinal and index
    const ordinals = new Map([resolution.survivorId, ...resolution.absorbed].map((id, i) => [id, i]));
    const eventIdFor = (streamId: string, index: number) => `${payloadHash}.${ordinals.get(streamId)}.${index}`;
    // a customer id minted for this call has no stream to read
    const survivorState =
      customers.get(resolution.survivorId) ??
      (resolution.kind === 'new' ? initialState(resolution.survivorId) : await this.repo.load(tenant, resolution.survivorId));
    const survivor = new PendingStream(survivorState, eventIdFor);
    const absorbed: PendingStream[] = [];
    if (resolution.kind === 'new') survivor.run({ type: 'Register', customerId: resolution.survivorId, observedAt: obs.observedAt }, stamp);
    for (const absorbedId of resolution.absorbed) {
      const victim = new PendingStream(customers.get(absorbedId)!, eventIdFor);
      const mergeId = hasher.digest(`${tenant}|${messageId}|merge|${absorbedId}`);
      survivor.run(
        { type: 'Absorb', mergeId, absorbed: victim.before, evidence: this.evidence(resolution, absorbedId, messageId, rules.source.version) },
        stamp,
      );
      victim.run({ type: 'MarkMergedInto', mergeId, survivorId: resolution.survivorId }, stamp);
      absorbed.push(victim);
    }
    const observed = decide(
      {
        type: 'Observe',
        observedAt: obs.observedAt,
        link: resolution.link,
        rejected: resolution.rejected,
        rulesVersion: rules.source.version,
        facts: obs.facts,
      },
      survivor.current,
    );
    // a consent decision is dated no later than the call was received: a clock ahead would outrank
    // the decisions taken until then (an operator's withdrawal), the latest one winning
    const consentStamp: EventStamp = { ...stamp, observedAt: obs.consentAt };
    survivor.push(observed, (i) => (CONSENT_EVENTS.has(observed[i]!.type) ? consentStamp : stamp));

    return {
      kind: 'write',
      streams: [survivor, ...absorbed],
      claims: resolution.link.map((i) => ({ op: 'claim', key: i.key, owner: resolution.survivorId })),
      committed: () => {
        metrics.increment('ingest_accepted');
        if (resolution.absorbed.length) metrics.increment('identity_merge', resolution.absorbed.length);
        if (resolution.rejected.length) metrics.increment('identity_rejected', resolution.rejected.length);
        if (resolution.guardTripped) metrics.increment('identity_cluster_guard_tripped');
        return {
          status: 'accepted',
          messageId,
          customerId: resolution.survivorId,
          viewVersion: survivor.current.version,
          created: resolution.kind === 'new',
          merged: resolution.absorbed,
          rejected: resolution.rejected.map((r: Rejection) => ({ type: r.identifier.type, reason: r.reason })),
        };
      },
    };
  }

  private evidence(resolution: Extract<Resolution, { survivorId: string }>, absorbedId: string, messageId: string, rulesVersion: number) {
    return {
      rule: 'shared-identifier' as const,
      triggeringEventId: messageId,
      identifiers: (resolution.evidence.get(absorbedId) ?? []).map((i) => ({ type: i.type, key: i.key })),
      forced: false,
      rulesVersion,
    };
  }

  /** Keep a payload that cannot be ingested (unreadable body, undecodable record) with its reason. */
  async quarantine(
    tenant: string,
    source: IngestSource,
    raw: unknown,
    reason: QuarantineReason,
    receivedAt: number,
    /** what the payload is when it is not a call (then it is not replayed as one) */
    intake?: QuarantineIntake | undefined,
    /**
     * what names this one arrival of the payload, when something does: a stream record's sequence
     * number, an import file's line. The same payload arriving again from there is the same entry.
     */
    arrival?: string | undefined,
  ): Promise<Extract<IngestOutcome, { status: 'quarantined' }>> {
    // a payload too deep for the stores' serializers (a call refused as NESTING_TOO_DEEP) is kept as
    // its JSON text: whole, and, as text, not replayed as a call
    const plain = withoutWriteKey(raw);
    const asText = deeperThan(plain, MAX_KEPT_DEPTH);
    const payload = asText ? deepJsonText(plain) : plain;
    // said to whoever reports the refusal (c360 import), as a replay of the entry would say it
    const kept = (id: string): Extract<IngestOutcome, { status: 'quarantined' }> => ({
      status: 'quarantined',
      quarantineId: id,
      error: reason,
      ...(asText && intake === undefined
        ? {
            notReplayable: `nested deeper than ${MAX_KEPT_DEPTH} levels, it is kept as its JSON text, not as a call, and cannot be replayed: correct it at its source and send it again`,
          }
        : {}),
    });
    const held = await this.heldAlready(tenant, source.name, payload, reason, intake, arrival);
    if (held.pending) {
      this.ports.metrics.increment('ingest_quarantined');
      return kept(held.id);
    }
    const id = held.id;
    const matchKeys = quarantineMatchKeys(this.ports, tenant, payload);
    await this.ports.quarantine.put({
      id,
      tenant,
      receivedAt,
      source: source.name,
      reason,
      payload,
      status: 'pending',
      matchKeys,
      ...(intake === undefined ? {} : { intake }),
    });
    this.ports.metrics.increment('ingest_quarantined');
    return kept(id);
  }

  /**
   * The entry a refused payload goes to. A payload that arrives again as the same arrival (a call
   * sent again with its messageId, a stream record read again, the same line of a file imported
   * again) with the same reason is the entry that holds it already, while it is pending: a retry
   * or a re-import adds no copy. Its id is a keyed hash (the tenant's claim secret) of the source,
   * the reason, the arrival and the payload, so it tells nothing about the payload. A payload
   * with nothing naming its arrival (a call without messageId or timestamp: two equal ones are two
   * calls) gets a new entry every time, as does one whose entry was replayed or erased since (or
   * rewritten by an erasure), or can no longer be read. A batch's refused calls arrive with the
   * request as their arrival (refusedBatchEntry: every call of it, when each refused one has a
   * messageId or timestamp), so a retried batch is the entry that holds its refused calls already.
   */
  private async heldAlready(
    tenant: string,
    source: string,
    payload: unknown,
    reason: QuarantineReason,
    intake: QuarantineIntake | undefined,
    arrival: string | undefined,
  ): Promise<{ readonly id: string; readonly pending: boolean }> {
    if (arrival === undefined && !knownByContent(payload)) return { id: this.ports.ids.newId(), pending: false };
    const content = contentOf(reason, payload, intake);
    const named = [source, intake ?? 'call', reason.code, arrival ?? '', content].join('\u0000');
    const id = uuidOfKey(this.ports.hasher.claimKey(tenant, 'quarantine-entry', named));
    // an entry whose payload cannot be read (its key destroyed or unreadable here, its ciphertext
    // altered) does not hold this one: the payload is kept anew, readable, under an id of its own;
    // nor does one holding something else now (an erasure took calls out of it since)
    const entry = await this.ports.quarantine.get(tenant, id).catch(() => null);
    if (entry === undefined) return { id, pending: false };
    if (
      entry !== null &&
      entry.status === 'pending' &&
      entry.payloadUnavailable === undefined &&
      contentOf(entry.reason, entry.payload, entry.intake) === content
    )
      return { id, pending: true };
    return { id: this.ports.ids.newId(), pending: false };
  }
}

export type { FieldIssue };

/** What identifies a quarantined payload for its entry's id: its JSON; a batch's refused calls without their transport fields (batchIdentity). */
const contentOf = (reason: QuarantineReason, payload: unknown, intake: string | undefined): string =>
  (intake === undefined ? batchIdentity(reason, payload) : undefined) ?? quarantinePayloadJson(payload) ?? '';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A keyed hash (base64url) as a UUID-shaped id (version 8: made by us, not random), as the other entries' ids. */
const uuidOfKey = (key: string): string => {
  const bytes: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of key) {
    acc = ((acc << 6) | BASE64URL.indexOf(ch)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
      if (bytes.length === 16) break;
    }
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
