import type { EventOf } from '../../domain/customer/customer.events.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import { decodeReadable } from '../event-codec.js';
import type { ErasureReceipt } from '../ports/erasure-ledger.port.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { clusterKeys, resolveCluster, tombstoneWrite, type Cluster, type TombstoneRequest, type Tombstoned } from './erasure-cluster.js';
import { scrubQuarantine } from './quarantine-scrub.js';

// GDPR erasure by crypto-shredding, in an order that survives a crash at any step: the tombstone
// commits first (the streams take nothing more, the claims are free), then the data keys of the
// whole cluster are destroyed, then read models, snapshots and quarantined payloads go, and last
// the receipt is recorded. Running erase again finishes whatever an earlier run left undone.

export type ErasureOptions = { readonly actor: string; readonly reason?: string | undefined };

export type ReapplyReport = {
  readonly erasures: number;
  readonly tombstoned: number;
  readonly dataKeys: number;
  readonly views: number;
  readonly snapshots: number;
  readonly quarantined: number;
};

const REASON_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

type Removed = ErasureReceipt['removed'];

export class ErasureUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
  ) {}

  async erase(tenant: string, customerId: string, options: ErasureOptions): Promise<ErasureReceipt> {
    const done = await this.ports.ledger.find(tenant, customerId);
    if (done) return done;
    const first = await resolveCluster(this.repo, tenant, customerId);
    if (!first) throw new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, ['customerId']);
    // another id of an erased cluster, or an erasure that died before its receipt
    for (const id of first.ids) {
      const receipt = await this.ports.ledger.find(tenant, id);
      if (receipt) return receipt;
    }
    const tombstone = await this.tombstoneOf(tenant, first);
    const erasureId = tombstone?.data.erasureId ?? this.ports.ids.newId();
    const requestedId = tombstone?.data.requestedId ?? customerId;
    const now = this.ports.clock.now();

    const { cluster, tombstoned, released } = await this.tombstone(tenant, customerId, first, { erasureId, requestedId, actor: options.actor, now });
    const removed = await this.shred(tenant, cluster, erasureId);
    const receipt: ErasureReceipt = {
      erasureId,
      tenant,
      requestedId,
      customers: cluster.ids,
      erasedAt: new Date(tombstone?.observedAt ?? now).toISOString(),
      actor: options.actor,
      removed: { streams: tombstone ? cluster.ids.length : tombstoned, claims: released, ...removed },
    };
    await this.ports.ledger.record(receipt);
    await this.audit(tenant, options.actor, 'customer.erase', requestedId, {
      erasureId,
      customers: cluster.ids.length,
      // a reason code only: free text could hold personal data, and the audit log never does
      ...(options.reason && REASON_CODE.test(options.reason) ? { reason: options.reason } : {}),
      ...receipt.removed,
    });
    return receipt;
  }

  /** After a restore from a backup older than some erasures: makes every recorded erasure hold again. */
  async reapply(tenant: string, options: { readonly actor?: string | undefined } = {}): Promise<ReapplyReport> {
    const totals = { erasures: 0, tombstoned: 0, dataKeys: 0, views: 0, snapshots: 0, quarantined: 0 };
    let after: string | undefined;
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
        const removed = await this.shred(tenant, await this.recordedCluster(tenant, r), r.erasureId);
        for (const k of ['dataKeys', 'views', 'snapshots', 'quarantined'] as const) totals[k] += removed[k];
      }
      after = page.next;
    } while (after !== undefined);
    await this.audit(tenant, options.actor ?? 'system', 'erasure.reapply', undefined, { ...totals });
    return totals;
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
   * Commits the tombstone. After a lost race (ingest, merges and unmerges may be running) the
   * cluster is resolved again from the requested id: what is erased is its cluster as it stands
   * when the tombstone commits.
   */
  private tombstone(tenant: string, requested: string, first: Cluster, req: TombstoneRequest): Promise<Tombstoned> {
    return this.pipeline.run({
      tenant,
      name: `the erasure of ${requested}`,
      subject: ['customerId'],
      decide: async ({ attempt }) => {
        const cluster = attempt === 1 ? first : ((await resolveCluster(this.repo, tenant, requested)) ?? first);
        return tombstoneWrite(this.ports, tenant, cluster, req);
      },
    });
  }

  /** Steps b and c: keys, then read models, snapshots and quarantined payloads. */
  private async shred(tenant: string, cluster: Cluster, erasureId: string): Promise<Omit<Removed, 'streams' | 'claims'>> {
    const { keys, readModels, snapshots } = this.ports;
    let dataKeys = 0;
    let views = 0;
    let snaps = 0;
    for (const id of cluster.ids) {
      if ((await keys.get(tenant, id)) !== null) dataKeys++;
      await keys.destroy(tenant, id);
    }
    for (const id of cluster.ids) {
      if (await readModels.get(tenant, id)) views++;
      await readModels.delete(tenant, id);
      if (snapshots) {
        if (await snapshots.get(tenant, id).catch(() => undefined)) snaps++;
        await snapshots.delete(tenant, id);
      }
    }
    const quarantined = await scrubQuarantine(this.ports, tenant, { ...clusterKeys(cluster), erasureId });
    return { dataKeys, views, snapshots: snaps, quarantined };
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
