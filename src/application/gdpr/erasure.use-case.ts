import type { EventOf } from '../../domain/customer/customer.events.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import { adoptedFrom, redactGivenAway } from '../customers/given-away.js';
import type { CorePorts } from '../deps.js';
import { decodeReadable } from '../event-codec.js';
import type { ErasureReceipt } from '../ports/erasure-ledger.port.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { clusterKeys, resolveCluster, tombstoneWrite, type Cluster, type TombstoneRequest, type Tombstoned } from './erasure-cluster.js';
import { scrubQuarantine } from './quarantine-scrub.js';

// GDPR erasure by crypto-shredding, in an order that survives a crash at any step: the tombstone
// commits first (the streams take nothing more, the claims are free), then the data keys of the
// whole cluster are destroyed, then read models, snapshots and quarantined payloads go, and last
// the receipt is recorded. Running erase again finishes whatever an earlier run left undone. An
// unmerge's originals of the events it gave this cluster lose their pii in the survivor's stream
// before the keys go (see given-away.ts).

export type ErasureOptions = { readonly actor: string; readonly reason?: string | undefined };

export type ReapplyReport = {
  readonly erasures: number;
  readonly tombstoned: number;
  readonly dataKeys: number;
  readonly views: number;
  readonly snapshots: number;
  /** quarantine entries deleted whole */
  readonly quarantined: number;
  /** quarantine entries kept for other people's calls, a receipt's cluster's calls taken out of them (absent: none) */
  readonly quarantineRewritten?: number | undefined;
  /** the calls taken out of those entries (absent: none) */
  readonly quarantineCallsRemoved?: number | undefined;
  /**
   * quarantined payloads the re-application could match by their recorded keys only, not search,
   * because their key is wrapped by a master key this process's keyring lacks, as an erasure
   * receipt's `quarantineUnsearched` (each entry counted once, however many receipts met it; absent:
   * none). Run it again once that master key is back in the keyring.
   */
  readonly quarantineUnsearched?: number | undefined;
};

/** Where a re-apply stands: the totals so far, and whether it is done. */
export type ReapplyProgress = ReapplyReport & { readonly done: boolean };

export type ReapplyOptions = {
  readonly actor?: string | undefined;
  /** called after each receipt of the ledger is re-applied, and once more when done */
  readonly onProgress?: ((p: ReapplyProgress) => void) | undefined;
};

const REASON_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

type Removed = ErasureReceipt['removed'];

/** the erasure a tombstone commit belongs to, and whether an earlier tombstone decided it */
type TombstoneTaken = { readonly req: TombstoneRequest; readonly prior: boolean };

export class ErasureUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
    /** how long backups keep deleted items (see CoreOptions.backupRetentionMs) */
    private readonly backupRetentionMs?: number | undefined,
    /** other read models that name customers (the match book): told with the views, before the quarantine's closing scrub */
    private readonly forget?: ((tenant: string, customerIds: readonly string[]) => Promise<void>) | undefined,
  ) {}

  async erase(tenant: string, customerId: string, options: ErasureOptions): Promise<ErasureReceipt> {
    const done = await this.ports.ledger.find(tenant, customerId);
    if (done) return done;
    const first = await resolveCluster(this.repo, tenant, customerId);
    if (!first) throw new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, ['customerId']);
    // No shortcut through another id's receipt: the ids were read one by one, and a receipt that
    // covers one of them need not cover the requested id (it may have been unmerged before that
    // erasure). An erasure that died before its receipt is finished by tombstone() below.
    const now = this.ports.clock.now();
    const taken = await this.tombstone(tenant, customerId, first, { erasureId: this.ports.ids.newId(), requestedId: customerId, actor: options.actor, now });
    const { cluster, tombstoned, released, req, prior } = taken;
    // a merge or unmerge that committed just before the tombstone may still be projecting
    await this.pipeline.settled();
    const { unsearched, ...removed } = await this.shred(tenant, cluster, req.erasureId);
    const quarantineUnsearched = unsearched.length;
    const lake = await this.ports.lake?.erase(tenant, cluster.ids);
    const receipt: ErasureReceipt = {
      erasureId: req.erasureId,
      tenant,
      requestedId: req.requestedId,
      customers: cluster.ids,
      erasedAt: new Date(req.now).toISOString(),
      actor: options.actor,
      removed: { streams: prior ? cluster.ids.length : tombstoned, claims: released, ...removed },
      ...(quarantineUnsearched > 0 ? { quarantineUnsearched } : {}),
      ...(lake && 'cleanAt' in lake ? { lakeCleanAt: new Date(lake.cleanAt).toISOString() } : {}),
      ...(lake && 'cleanWithinMs' in lake ? { lakeCleanBy: new Date(req.now + lake.cleanWithinMs).toISOString() } : {}),
      // a backup taken before the erasure still holds the deleted items until it expires
      ...(this.backupRetentionMs ? { backupsCleanAt: new Date(req.now + this.backupRetentionMs).toISOString() } : {}),
    };
    await this.ports.ledger.record(receipt);
    // an erasure of the same cluster that committed its tombstone first may have recorded first:
    // one erasure, one receipt, whichever of them answers
    const recorded = await this.ports.ledger.find(tenant, customerId);
    const answer = recorded?.erasureId === receipt.erasureId ? recorded : receipt;
    await this.audit(tenant, options.actor, 'customer.erase', req.requestedId, {
      erasureId: req.erasureId,
      customers: cluster.ids.length,
      // a reason code only: free text could hold personal data, and the audit log never does
      ...(options.reason && REASON_CODE.test(options.reason) ? { reason: options.reason } : {}),
      ...receipt.removed,
      ...(quarantineUnsearched > 0 ? { quarantineUnsearched } : {}),
    });
    return answer;
  }

  /** After a restore from a backup older than some erasures: makes every recorded erasure hold again. */
  async reapply(tenant: string, options: ReapplyOptions = {}): Promise<ReapplyReport> {
    const totals = { erasures: 0, tombstoned: 0, dataKeys: 0, views: 0, snapshots: 0, quarantined: 0 };
    const cut = { quarantineRewritten: 0, quarantineCallsRemoved: 0 };
    // an entry no receipt could search is met by every receipt's scrub: counted once
    const unsearched = new Set<string>();
    const report = (): ReapplyReport => ({
      ...totals,
      ...(cut.quarantineRewritten > 0 ? cut : {}),
      ...(unsearched.size > 0 ? { quarantineUnsearched: unsearched.size } : {}),
    });
    let after: string | undefined;
    let last: ErasureReceipt | undefined;
    do {
      const page = await this.ports.ledger.list(tenant, { after, limit: 100 });
      for (const r of page.entries) {
        totals.erasures++;
        const now = this.ports.clock.now();
        for (const id of r.customers) {
          const cluster = await resolveCluster(this.repo, tenant, id);
          // a stream the backup does not hold has nothing to tombstone; keys and docs may still be there
          const streams = cluster
            ? (await this.tombstone(tenant, id, cluster, { erasureId: r.erasureId, requestedId: r.requestedId, actor: options.actor ?? 'system', now }))
                .tombstoned
            : 0;
          totals.tombstoned += streams;
        }
        // a quarantined call received after the erasure is not the erased person's old data: the
        // same identifier ingested afterwards is a new customer's
        const erasedAt = Date.parse(r.erasedAt);
        const removed = await this.shred(tenant, await this.recordedCluster(tenant, r), r.erasureId, Number.isNaN(erasedAt) ? undefined : erasedAt);
        await this.ports.lake?.erase(tenant, r.customers);
        for (const k of ['dataKeys', 'views', 'snapshots', 'quarantined'] as const) totals[k] += removed[k];
        cut.quarantineRewritten += removed.quarantineRewritten ?? 0;
        cut.quarantineCallsRemoved += removed.quarantineCallsRemoved ?? 0;
        for (const id of removed.unsearched) unsearched.add(id);
        options.onProgress?.({ ...report(), done: false });
      }
      last = page.entries.at(-1) ?? last;
      after = page.next;
    } while (after !== undefined);
    // as an erasure ends: recording its receipt (again; idempotent by erasure id) settles what was
    // deleted, so a store that keeps old page versions drops them (SQLite checkpoints its WAL; a
    // restored payload deleted here stayed in the file until the next automatic checkpoint)
    if (last) await this.ports.ledger.record(last);
    await this.audit(tenant, options.actor ?? 'system', 'erasure.reapply', undefined, { ...report() });
    options.onProgress?.({ ...report(), done: true });
    return report();
  }

  /** The receipt's customers with whatever identity state the (restored) log still holds for them. */
  private async recordedCluster(tenant: string, r: ErasureReceipt): Promise<Cluster> {
    const states = new Map(await Promise.all(r.customers.map(async (id) => [id, await this.repo.load(tenant, id)] as const)));
    return { survivorId: r.customers[0] ?? r.requestedId, ids: r.customers, states };
  }

  private async tombstoneOf(tenant: string, cluster: Cluster): Promise<(EventOf<'CustomerErased'> & { observedAt: number }) | undefined> {
    for (const id of cluster.ids) {
      if (cluster.states.get(id)?.status !== 'erased') continue;
      const stored = (await this.ports.store.readStream(tenant, id)).find((e) => e.type === 'CustomerErased');
      if (!stored) continue;
      const r = decodeReadable(stored);
      if (r.event.type === 'CustomerErased') return { ...r.event, observedAt: r.observedAt };
    }
    return undefined;
  }

  /**
   * Commits the tombstone. After a lost race (ingest, merges, unmerges and other erasures may be
   * running) the cluster is resolved again from the requested id: what is erased is its cluster as
   * it stands when the tombstone commits. A tombstone already there (another erasure of the same
   * cluster won the race, or an earlier run died before its receipt) is that erasure's: its id,
   * requested id and time are taken over, so both answer one erasure.
   */
  private tombstone(tenant: string, requested: string, first: Cluster, fresh: TombstoneRequest): Promise<Tombstoned & TombstoneTaken> {
    return this.pipeline.run({
      tenant,
      name: `the erasure of ${requested}`,
      subject: ['customerId'],
      decide: async ({ attempt }) => {
        const cluster = attempt === 1 ? first : ((await resolveCluster(this.repo, tenant, requested)) ?? first);
        const prior = await this.tombstoneOf(tenant, cluster);
        const req = prior ? { ...fresh, erasureId: prior.data.erasureId, requestedId: prior.data.requestedId, now: prior.observedAt } : fresh;
        const write = await tombstoneWrite(this.ports, tenant, cluster, req);
        return { ...write, committed: async (recorded) => ({ ...(await write.committed(recorded)), req, prior: prior !== undefined }) };
      },
    });
  }

  /**
   * Steps b and c: keys, then read models, snapshots and quarantined payloads (`receivedBy`: only
   * those received by then; a live erasure takes every one naming the cluster).
   */
  private async shred(
    tenant: string,
    cluster: Cluster,
    erasureId: string,
    receivedBy?: number,
  ): Promise<Omit<Removed, 'streams' | 'claims'> & { readonly unsearched: readonly string[] }> {
    const { keys, readModels, snapshots } = this.ports;
    let dataKeys = 0;
    let views = 0;
    let snaps = 0;
    // a customer an unmerge restored holds copies of events whose originals stay in the survivor's
    // stream: their pii is removed there too (the unmerge did it unless it died before; idempotent)
    for (const id of cluster.ids) {
      for (const from of adoptedFrom(await this.ports.store.readStream(tenant, id)))
        await redactGivenAway(this.ports.store, tenant, from.fromId, from.eventIds);
    }
    // counted by the destroy itself: a key is never opened to be destroyed (one wrapped by a master
    // key this process lacks goes all the same)
    for (const id of cluster.ids) if (await keys.destroy(tenant, id)) dataKeys++;
    for (const id of cluster.ids) {
      if (await readModels.get(tenant, id)) views++;
      await readModels.delete(tenant, id);
      if (snapshots) {
        if (await snapshots.get(tenant, id).catch(() => undefined)) snaps++;
        await snapshots.delete(tenant, id);
      }
    }
    await this.forget?.(tenant, cluster.ids);
    const scrubbed = await scrubQuarantine(this.ports, tenant, { ...clusterKeys(cluster), erasureId, receivedBy });
    return {
      dataKeys,
      views,
      snapshots: snaps,
      quarantined: scrubbed.removed,
      // absent when none, so a receipt without them reads as before
      ...(scrubbed.rewritten > 0 ? { quarantineRewritten: scrubbed.rewritten, quarantineCallsRemoved: scrubbed.callsRemoved } : {}),
      unsearched: scrubbed.unsearched,
    };
  }

  private async audit(
    tenant: string,
    actor: string,
    action: 'customer.erase' | 'erasure.reapply',
    customerId: string | undefined,
    detail: Record<string, string | number | boolean>,
  ) {
    await this.ports.audit.append({ id: this.ports.ids.newId(), tenant, at: this.ports.clock.now(), actor, action, customerId, outcome: 'ok', detail });
  }
}
