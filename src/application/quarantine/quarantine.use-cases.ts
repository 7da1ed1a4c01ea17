import { DomainError } from '../../domain/shared/errors.js';
import type { CorePorts } from '../deps.js';
import { mergeBatchDefaults } from '../ingest/call-shape.js';
import type { IngestOutcome, IngestSource, IngestUseCase } from '../ingest/ingest.use-case.js';
import { BATCH_CALLS_REFUSED, refusedBatchCalls } from '../ingest/refused-batch.js';
import type { Quarantine, QuarantineEntry, QuarantineIntake, QuarantinePage, QuarantineReason } from '../ports/quarantine.port.js';
import type { Clock } from '../ports/runtime.port.js';

// Quarantined calls are kept as received; after a fix (rules, mapping, a corrected client) they
// are replayed through the same ingest path. A replay that fails again leaves the entry pending.
// An entry keeping a batch's refused calls replays each of them with the batch's context, in
// order; it is replayed once every call is in (calls taken by an earlier try answer as duplicates).
// An entry that does not keep a call (an excerpt or the text of a body refused before it was
// parsed, a whole batch body, an interest capture, an undecodable record) is not replayed: the
// replay is refused as NOT_REPLAYABLE, saying why and naming the entry's own reason, and the entry
// stays pending with that reason.

export const NOT_REPLAYABLE = 'NOT_REPLAYABLE';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const EXCERPT_KEYS = new Set(['bytes', 'kept', 'text', 'base64', 'contentEncoding']);
/** the {bytes, kept, text | base64 | contentEncoding} the HTTP intake keeps of a body refused before it was parsed */
const isExcerpt = (p: unknown): p is { bytes: number; kept: number; contentEncoding?: unknown } =>
  isObject(p) && typeof p.bytes === 'number' && typeof p.kept === 'number' && Object.keys(p).every((k) => EXCERPT_KEYS.has(k));
const byteCount = (n: number): string => `${n.toLocaleString('en-US')}-byte`;

/** Why replay refuses an entry (NOT_REPLAYABLE), or undefined when it keeps a call or a batch's refused calls: what a client asks before offering Replay. */
export const whyNotReplayable = (entry: Pick<QuarantineEntry, 'payload' | 'reason' | 'intake'>): string | undefined =>
  refusedBatchCalls(entry.reason, entry.payload) ? undefined : notReplayable(entry);

/** Why an entry cannot be replayed as a call, or undefined when it keeps one (or a batch's refused calls). */
export const notReplayable = (entry: Pick<QuarantineEntry, 'payload' | 'reason' | 'intake'>): string | undefined => {
  const { payload, reason, intake } = entry;
  const as = `refused as ${reason.code} (${reason.message})`;
  const resend = 'it cannot be replayed: the sender must send it again';
  if (isExcerpt(payload)) {
    const { bytes, kept, contentEncoding } = payload;
    if (typeof contentEncoding === 'string')
      return `this entry keeps only the size (${bytes.toLocaleString('en-US')} bytes) and Content-Encoding (${contentEncoding}) of a body ${as}; ${resend}`;
    return kept >= bytes
      ? `this entry keeps a ${byteCount(bytes)} body ${as} before it was read as JSON; ${resend}`
      : `this entry keeps an excerpt (the first ${kept.toLocaleString('en-US')} bytes) of a ${byteCount(bytes)} body ${as}; ${resend}`;
  }
  if (typeof payload === 'string') return `this entry keeps the text of a body or line ${as}, not a call; ${resend}`;
  switch (intake as QuarantineIntake | undefined) {
    case undefined:
      return undefined;
    case 'interest':
      return `this entry keeps a /v1/interests body ${as} before it became a call; interests have no replay: send it again to /v1/interests once fixed`;
    case 'batch':
      return `this entry keeps a whole /v1/batch body ${as}; it is not one call and cannot be replayed: send its calls again`;
    case 'record':
      return `this entry keeps an import line or stream record ${as} before it became a call; ${resend}`;
    default:
      return `this entry keeps a payload that is not a call (${intake}) ${as}; ${resend}`;
  }
};

/** A batch entry's replay: every call was ingested (or had been already). */
export type BatchReplayed = {
  readonly status: 'replayed';
  readonly calls: readonly {
    readonly index: number;
    readonly status: 'accepted' | 'duplicate';
    readonly messageId: string;
    readonly customerId?: string | undefined;
  }[];
};

export type ReplayOutcome = IngestOutcome | BatchReplayed;

const isIn = (o: ReplayOutcome): boolean => o.status === 'accepted' || o.status === 'duplicate' || o.status === 'replayed';

export class QuarantineUseCases {
  constructor(
    private readonly quarantine: Quarantine,
    private readonly ingest: IngestUseCase,
    private readonly clock: Clock,
    private readonly sourceOf: (tenant: string, name: string) => IngestSource,
    /** where replays are recorded (quarantine.replay); without it they are not audited */
    private readonly audit?: Pick<CorePorts, 'audit' | 'ids'> | undefined,
  ) {}

  list(
    tenant: string,
    options: { after?: string | undefined; limit?: number | undefined; status?: 'pending' | 'replayed' | undefined },
  ): Promise<QuarantinePage> {
    return this.quarantine.list(tenant, { after: options.after, limit: Math.min(Math.max(options.limit ?? 50, 1), 500), status: options.status });
  }

  /** whether the tenant's quarantine holds an entry with this id (of either status): a page's cursor names one */
  async has(tenant: string, id: string): Promise<boolean> {
    return (await this.quarantine.get(tenant, id)) !== undefined;
  }

  /** Quarantine a payload that never reached ingest (unreadable body, undecodable record). */
  async hold(
    tenant: string,
    sourceName: string,
    raw: unknown,
    reason: QuarantineReason,
    receivedAt = this.clock.now(),
    /** what the payload is when it is not a call (an entry without it is replayed as a call, or a batch's refused calls) */
    intake?: QuarantineIntake | undefined,
    /** what names this arrival (a stream record's sequence number, a file's line): the same arrival again is the same entry */
    arrival?: string | undefined,
  ): Promise<string> {
    return (await this.ingest.quarantine(tenant, this.sourceOf(tenant, sourceName), raw, reason, receivedAt, intake, arrival)).quarantineId;
  }

  async replay(tenant: string, id: string, options: { readonly actor?: string | undefined } = {}): Promise<ReplayOutcome> {
    const entry = await this.quarantine.get(tenant, id);
    if (!entry) throw new DomainError('QUARANTINE_ENTRY_NOT_FOUND', `no quarantine entry ${id}`, ['id']);
    if (entry.payloadUnavailable) {
      throw new DomainError(
        'QUARANTINE_PAYLOAD_UNAVAILABLE',
        `quarantine entry ${id} can no longer be read (${entry.payloadUnavailable}); it cannot be replayed`,
        ['id'],
      );
    }
    const source = this.sourceOf(tenant, entry.source);
    const batch = refusedBatchCalls(entry.reason, entry.payload);
    const why = whyNotReplayable(entry);
    const outcome: ReplayOutcome = why
      ? { status: 'rejected', error: { code: NOT_REPLAYABLE, message: why, issues: [] } }
      : batch
        ? await this.replayBatch(tenant, source, batch, entry.receivedAt)
        : await this.ingest.tryIngest(tenant, source, entry.payload, entry.receivedAt);
    if (isIn(outcome)) await this.quarantine.markReplayed(tenant, id, this.clock.now());
    if (this.audit) {
      const ok = isIn(outcome);
      const customerId = outcome.status === 'accepted' ? outcome.customerId : undefined;
      const code = outcome.status === 'rejected' || outcome.status === 'quarantined' ? outcome.error.code : undefined;
      const entry = {
        id: this.audit.ids.newId(),
        tenant,
        at: this.clock.now(),
        actor: options.actor ?? 'system',
        action: 'quarantine.replay' as const,
        customerId,
      };
      await this.audit.audit.append({ ...entry, outcome: ok ? 'ok' : 'refused', code, detail: { quarantineId: id, status: outcome.status } });
    }
    return outcome;
  }

  private async replayBatch(
    tenant: string,
    source: IngestSource,
    batch: NonNullable<ReturnType<typeof refusedBatchCalls>>,
    receivedAt: number,
  ): Promise<ReplayOutcome> {
    const { context, integrations } = batch.body as { context?: object; integrations?: object };
    const done: BatchReplayed['calls'][number][] = [];
    const refused: { readonly index: number; readonly code: string; readonly issues: readonly { readonly path: string; readonly message: string }[] }[] = [];
    // one after another, in the batch's order: calls of one customer keep their order
    for (const { index, call } of batch.calls) {
      const o = await this.ingest.tryIngest(tenant, source, mergeBatchDefaults(call, context, integrations), receivedAt, index);
      if (o.status === 'accepted') done.push({ index, status: 'accepted', messageId: o.messageId, customerId: o.customerId });
      else if (o.status === 'duplicate') done.push({ index, status: 'duplicate', messageId: o.messageId });
      else if (o.status === 'rejected' || o.status === 'quarantined') refused.push({ index, code: o.error.code, issues: o.error.issues });
    }
    if (!refused.length) return { status: 'replayed', calls: done };
    // the calls are named by their index in the request, as the entry's "refused" names them (not by their place in its "batch")
    const message = `${refused.length} of the ${batch.calls.length} calls were refused again (${[...new Set(refused.map((r) => r.code))].join(', ')}); the others are in and answer as duplicates when replayed again; the issue paths name each call by its index in the request, as the entry's "refused" does`;
    const issues = refused.flatMap((r) =>
      (r.issues.length ? r.issues : [{ path: '(root)', message: r.code }]).map((i) => ({
        path: `batch[${r.index}]${i.path === '(root)' ? '' : `.${i.path}`}`,
        message: i.message,
      })),
    );
    return { status: 'rejected', error: { code: BATCH_CALLS_REFUSED, message, issues } };
  }
}
