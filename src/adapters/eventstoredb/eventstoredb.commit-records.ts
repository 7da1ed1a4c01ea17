import { type EventStoreDBClient, WrongExpectedVersionError } from '@eventstore/db-client';
import { type Deadline, request } from './eventstoredb.deadline.js';
import { readWhole, streamNames, toEventData } from './eventstoredb.streams.js';

// Commit records: one stream per multi-write commit. Revision 0 is CommitStarted (naming every
// write); revision 1 is the decision, CommitCompleted or CommitAborted, appended with expected
// revision 0, so exactly one decision ever lands however many processes race to make it.

export type CommitStatus = 'committed' | 'aborted' | 'pending';
export type PlannedWrite = { readonly stream: string; readonly after: string; readonly count: number; readonly batches?: number };

const POLL_MS = 15;

export class CommitRecords {
  /** decisions are final, so any process may cache them forever */
  private readonly decided = new Map<string, Exclude<CommitStatus, 'pending'>>();

  constructor(
    private readonly client: EventStoreDBClient,
    /** how long an undecided commit may stay so before anyone may abort it (its writer crashed) */
    private readonly pendingTimeoutMs: number,
  ) {}

  start(tenant: string, id: string, writes: readonly PlannedWrite[], d: Deadline): Promise<unknown> {
    const event = toEventData({ id, type: 'CommitStarted', data: { writes }, meta: {} });
    return request(this.client, d, (deadline) =>
      this.client.appendToStream(streamNames(tenant).commit(id), event, { expectedRevision: 'no_stream', deadline }),
    );
  }

  /** Tries to record the decision; returns the decision that stands (possibly another process's). */
  async decide(tenant: string, id: string, decision: 'committed' | 'aborted', d: Deadline): Promise<Exclude<CommitStatus, 'pending'>> {
    const type = decision === 'committed' ? 'CommitCompleted' : 'CommitAborted';
    try {
      const event = toEventData({ id: crypto.randomUUID(), type, data: {}, meta: {} });
      await request(this.client, d, (deadline) => this.client.appendToStream(streamNames(tenant).commit(id), event, { expectedRevision: 0n, deadline }));
      this.decided.set(id, decision);
      return decision;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      const standing = await this.status(tenant, id, d);
      if (standing === 'pending') throw new Error(`commit ${id}: decision refused but none recorded`);
      return standing;
    }
  }

  async status(tenant: string, id: string, d: Deadline): Promise<CommitStatus> {
    const known = this.decided.get(id);
    if (known) return known;
    const events = await readWhole(this.client, streamNames(tenant).commit(id), d);
    const decision = events[1]?.type;
    // no record at all: the writer never got past its first step, so nothing of it may show
    const status: CommitStatus = decision === 'CommitCompleted' ? 'committed' : decision === 'CommitAborted' || events.length === 0 ? 'aborted' : 'pending';
    if (status !== 'pending' && events.length > 0) this.decided.set(id, status);
    return status;
  }

  /**
   * Waits for an undecided commit, and aborts it once it is older than the timeout: a writer that
   * crashed mid-commit must not block its streams forever. A slow writer aborted this way finds its
   * own completion refused and reports no commit, so safety never depends on clocks.
   */
  async settle(tenant: string, id: string, d: Deadline): Promise<Exclude<CommitStatus, 'pending'>> {
    for (;;) {
      const status = await this.status(tenant, id, d);
      if (status !== 'pending') return status;
      const started = (await readWhole(this.client, streamNames(tenant).commit(id), d))[0]?.created ?? 0;
      if (Date.now() - started > this.pendingTimeoutMs) return this.decide(tenant, id, 'aborted', d);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
