import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';
import { KeyedLock } from '../keyed-lock.js';
import { COMMIT_LIMITS, type ClaimOp, type Commit, type StreamAppend } from '../ports/event-store.port.js';
import type { PendingStream } from './pending-stream.js';

// The one write pipeline. A use case states only what to decide; this owns everything around it:
// the keyed lock, the idempotency check and record (with `now` and the TTL taken once), the
// retry policy, encryption, the commit, the repository cache and the after-commit step
// (projection, identity feed, engagement). Concurrent commands' commits group in the store.

/** `annexed`: the commit carried an annex (see BeforeCommit), whose decisions are among `events` */
export type AfterCommit = (tenant: string, events: readonly RecordedEvent[], annexed: boolean) => Promise<void>;

/**
 * What a write committed with an annex carries besides its own decision: events the annex added
 * to the write's pending streams (engagement decisions on the triggering call's stream), and their
 * idempotency records, written by the same commit.
 */
export type Annex = {
  readonly records: readonly { readonly key: string; readonly payloadHash: string }[];
  /**
   * runs once the commit landed and its after-commit step ran (metrics; notifications, once the
   * view shows them). Nothing is undone when the commit does not land: what the annex staged
   * outside the store (the outbox) must be safe to leave behind.
   */
  readonly landed?: (() => Promise<void>) | undefined;
};

/**
 * Decides more for a write about to commit, under its lock: may add events to its pending streams
 * and answer an Annex, or answer undefined and add nothing. Runs for writes that are projected
 * after their commit and not split into parts. A failure leaves the write as it was.
 */
export type BeforeCommit = (tenant: string, streams: readonly PendingStream[]) => Promise<Annex | undefined>;

export type DecideContext = {
  /** the command's time, taken once: the idempotency record and every attempt use it */
  readonly now: number;
  readonly attempt: number;
};

export type Write<R> = {
  readonly kind: 'write';
  /** the streams the decision ran on; those without new events are left alone */
  readonly streams: readonly PendingStream[];
  readonly claims?: readonly ClaimOp[] | undefined;
  /** the answer once committed (and projected, unless `project` is false) */
  readonly committed: (recorded: readonly RecordedEvent[]) => R | Promise<R>;
  /** undoes what the decision staged outside the store (the outbox) when the commit loses a race */
  readonly onConflict?: (() => Promise<void>) | undefined;
  /**
   * false: nothing runs after the commit: the erasure deletes the views itself, and an engagement
   * decision taken before its trigger was projected is projected by the caller with the trigger
   */
  readonly project?: boolean | undefined;
  /**
   * The write may be committed in parts when it exceeds the store's limits: the streams first,
   * then the claims. Each part is recorded under this key and its own content, so a run that died
   * between parts finds the earlier ones done. Only for writes that are safe to land in parts.
   */
  readonly parts?: { readonly key: string } | undefined;
};

export type Decision<R> =
  | Write<R>
  /** nothing to write: the answer as it stands */
  | { readonly kind: 'answer'; readonly result: R }
  /** what was read is already stale (a tombstone landed meanwhile): forget these and decide again */
  | { readonly kind: 'retry'; readonly evict: readonly string[] };

export type Command<R> = {
  readonly tenant: string;
  /** names the command in a give-up error */
  readonly name: string;
  /** the request field a give-up error points at */
  readonly subject?: readonly string[] | undefined;
  /** taken before the first await, in call order: commands sharing a key run one after another */
  readonly lockKeys?: readonly string[] | undefined;
  /** checked before deciding and recorded by the commit; a recorded key answers `duplicate` */
  readonly idempotency?:
    | {
        readonly key: string;
        readonly payloadHash: string;
        /** the answer to a repeat; throws when the key was recorded for another payload */
        readonly duplicate: (storedHash: string) => R | Promise<R>;
      }
    | undefined;
  readonly decide: (ctx: DecideContext) => Promise<Decision<R>>;
};

/** One policy for every write: bounded attempts with jittered exponential backoff. */
export const RETRY = { maxAttempts: 10, backoffMs: (attempt: number) => Math.random() * 2 ** attempt } as const;

export class CommandPipeline {
  private readonly lock = new KeyedLock();
  /** writes between the start of their commit and the end of their after-commit step */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly codec: EventCodec,
    private readonly afterCommit: AfterCommit = async () => {},
    private readonly beforeCommit?: BeforeCommit | undefined,
  ) {}

  /**
   * Resolves once every write whose commit had started when this was called has run its
   * after-commit step: an erasure waits for it before deleting views, so a projection of a commit
   * that landed just before its tombstone cannot write them back afterwards.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  run<R>(cmd: Command<R>): Promise<R> {
    const now = this.ports.clock.now();
    return this.lock.run(cmd.lockKeys ?? [], () => this.execute(cmd, now));
  }

  private async execute<R>(cmd: Command<R>, now: number): Promise<R> {
    const { store, metrics } = this.ports;
    if (cmd.idempotency) {
      const existing = await store.getIdempotency(cmd.tenant, cmd.idempotency.key, now);
      if (existing) return cmd.idempotency.duplicate(existing.payloadHash);
    }
    for (let attempt = 1; ; attempt++) {
      const decision = await cmd.decide({ now, attempt });
      if (decision.kind === 'answer') return decision.result;
      if (decision.kind === 'retry') {
        for (const id of decision.evict) this.repo.evict(cmd.tenant, id);
      } else {
        let landed!: () => void;
        const flight = new Promise<void>((resolve) => (landed = resolve));
        this.inFlight.add(flight);
        try {
          let annex = await this.annex(cmd.tenant, decision);
          let outcome: Awaited<ReturnType<CommandPipeline['commit']>>;
          try {
            outcome = await this.commit(cmd, decision, now, annex?.annex);
          } catch (e) {
            // the annex made the commit too large (checked before anything is written): commit without it
            if (!annex || !(e instanceof DomainError) || e.code !== 'COMMIT_TOO_LARGE') throw e;
            annex.rewind();
            annex = undefined;
            outcome = await this.commit(cmd, decision, now);
          }
          if (outcome.status === 'duplicate') return cmd.idempotency!.duplicate(outcome.payloadHash);
          if (outcome.status === 'committed') return await this.finish(cmd.tenant, decision, outcome.written, annex?.annex);
        } finally {
          this.inFlight.delete(flight);
          landed();
        }
        for (const p of decision.streams) this.repo.evict(cmd.tenant, p.before.id);
        await decision.onConflict?.();
      }
      metrics.increment('commit_conflict_retry');
      if (attempt >= RETRY.maxAttempts) {
        throw new DomainError(
          'CONCURRENCY_CONFLICT',
          `${cmd.name} gave up after ${RETRY.maxAttempts} attempts that lost a race with other writers; send it again`,
          [...(cmd.subject ?? [])],
        );
      }
      await new Promise((r) => setTimeout(r, RETRY.backoffMs(attempt)));
    }
  }

  /** The before-commit step's annex for a write, and how to take it back out; undefined when there is none. */
  private async annex<R>(tenant: string, write: Write<R>): Promise<{ readonly annex: Annex; readonly rewind: () => void } | undefined> {
    if (!this.beforeCommit || write.project === false || write.parts) return undefined;
    const marks = write.streams.map((p) => p.mark());
    const rewind = () => {
      for (const back of marks) back();
    };
    try {
      const annex = await this.beforeCommit(tenant, write.streams);
      if (!annex) rewind();
      return annex && { annex, rewind };
    } catch {
      // the write commits as it is; the after-commit step decides what the annex would have
      this.ports.metrics.increment('annex_failed');
      rewind();
      return undefined;
    }
  }

  private async commit<R>(
    cmd: Command<R>,
    write: Write<R>,
    now: number,
    annex?: Annex | undefined,
  ): Promise<{ status: 'committed'; written: readonly PendingStream[] } | { status: 'duplicate'; payloadHash: string } | { status: 'conflict' }> {
    const { store, settings } = this.ports;
    const written = write.streams.filter((p) => p.recorded.length > 0);
    const streams = await Promise.all(written.map((p) => this.encrypt(cmd.tenant, p, now)));
    const claims = write.claims ?? [];
    const expiresAt = now + settings.idempotencyTtlMs(cmd.tenant);
    const commits: Commit[] = write.parts
      ? partsOf(streams, claims).map((part) => {
          const content = [...part.streams.map((s) => `${s.streamId}@${s.expectedVersion}`), ...part.claims.map((c) => c.key)].join(',');
          const payloadHash = this.ports.hasher.digest(`${cmd.tenant}|${write.parts!.key}|${content}`);
          return { tenant: cmd.tenant, idempotency: { key: `${write.parts!.key}:${payloadHash}`, payloadHash, expiresAt }, ...part };
        })
      : [
          {
            tenant: cmd.tenant,
            idempotency: cmd.idempotency && { key: cmd.idempotency.key, payloadHash: cmd.idempotency.payloadHash, expiresAt },
            alsoRecorded: annex && annex.records.length > 0 ? annex.records.map((r) => ({ ...r, expiresAt })) : undefined,
            streams,
            claims,
          },
        ];
    for (const commit of commits) {
      const result = await store.commit(commit);
      if (result.status === 'conflict') return { status: 'conflict' };
      // a part of a split write already there: an earlier run committed it before dying
      if (result.status === 'duplicate' && !write.parts) return { status: 'duplicate', payloadHash: result.payloadHash };
    }
    return { status: 'committed', written };
  }

  private async finish<R>(tenant: string, write: Write<R>, written: readonly PendingStream[], annex?: Annex | undefined): Promise<R> {
    for (const p of written) this.repo.remember(tenant, p.current);
    // a loop, not flatMap: this runs once per command, and flatMap's callback per stream costs more
    const recorded: RecordedEvent[] = [];
    for (const p of written) for (const r of p.recorded) recorded.push(r);
    if (write.project !== false && recorded.length > 0) {
      try {
        await this.afterCommit(tenant, recorded, annex !== undefined);
      } catch {
        // committed is committed: the next event of these streams finds the gap and re-reads it,
        // and a rebuild repairs the rest; failing the command would make its retry a duplicate
        this.ports.metrics.increment('projection_failed');
      }
    }
    // the annex's own failures (a notification) are its to handle: it runs after the commit landed
    await annex?.landed?.().catch(() => this.ports.metrics.increment('annex_failed'));
    return write.committed(recorded);
  }

  /** Events that carry personal data are encrypted under the stream's data key; others need none. */
  private async encrypt(tenant: string, pending: PendingStream, recordedAt: number): Promise<StreamAppend> {
    const needsKey = pending.recorded.some((r) => (r.event as { pii?: unknown }).pii !== undefined);
    // a stream at version 0 is brand new: its key can be created without looking for one first
    const key = needsKey ? await this.ports.keys.getOrCreate(tenant, pending.before.id, { fresh: pending.before.version === 0 }) : null;
    return {
      streamId: pending.before.id,
      expectedVersion: pending.before.version,
      events: pending.recorded.map((r) => this.codec.encode(tenant, r, key, recordedAt)),
    };
  }
}

type Part = { readonly streams: readonly StreamAppend[]; readonly claims: readonly ClaimOp[] };

/** One commit when everything fits; otherwise the streams first, then the claims. */
const partsOf = (appends: readonly StreamAppend[], claims: readonly ClaimOp[]): Part[] => {
  const room = COMMIT_LIMITS.maxItems - 1; // one item is the idempotency record
  const items = appends.reduce((n, a) => n + a.events.length, 0) + claims.length;
  if (items === 0) return [];
  if (items <= room) return [{ streams: appends, claims }];
  const parts: Part[] = [];
  for (let i = 0; i < appends.length; i += room) parts.push({ streams: appends.slice(i, i + room), claims: [] });
  for (let i = 0; i < claims.length; i += room) parts.push({ streams: [], claims: claims.slice(i, i + room) });
  return parts;
};
