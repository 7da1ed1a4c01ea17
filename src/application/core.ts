import { RekeyClaims } from './admin/rekey-claims.use-case.js';
import { ConsentUseCase } from './customers/consent.use-case.js';
import { CustomerQueries } from './customers/customer.queries.js';
import { CustomerRepository } from './customers/customer.repository.js';
import { IdentityUseCases } from './customers/identity.use-cases.js';
import type { CorePorts } from './deps.js';
import { EngagementQueries } from './engagement/engagement.queries.js';
import { EngagementRelay } from './engagement/engagement.relay.js';
import { EngagementUseCase, type EngagementOptions } from './engagement/engagement.use-case.js';
import { ErasureUseCase } from './gdpr/erasure.use-case.js';
import { ExportUseCase } from './gdpr/export.use-case.js';
import { RestrictionUseCase } from './gdpr/restriction.use-case.js';
import { decodeReadable, EventCodec } from './event-codec.js';
import { identityChangesOf } from './identity-changes.js';
import type { IdentityFeed } from './ports/identity-feed.port.js';
import type { RecordedEvent } from '../domain/customer/customer.events.js';
import { IngestUseCase, type IngestSource } from './ingest/ingest.use-case.js';
import { CommandPipeline, type AfterCommit } from './commands/command-pipeline.js';
import { Customer360Projector } from './projection/customer360.projector.js';
import { RebuildProjections } from './projection/rebuild.use-case.js';
import { QuarantineUseCases } from './quarantine/quarantine.use-cases.js';

export type CoreOptions = {
  /**
   * Project right after each commit, in the same process (the embedded default). Off when
   * something else delivers committed events to the projector (DynamoDB Streams).
   */
  readonly inlineProjection: boolean;
  readonly sourceOf: (tenant: string, name: string) => IngestSource;
  /**
   * Where identity changes (merges, unmerges, erasures) are published, derived from committed
   * events after they are projected: inline here, or by the Streams projector (`publishChanges`).
   */
  readonly feed?: IdentityFeed | undefined;
  /** real-time engagement (offers, notifier, outbox); without it no decision is ever taken */
  readonly engagement?: EngagementOptions | undefined;
};

/** The use cases over a set of ports: what every driving adapter (HTTP, Lambda, CLI) talks to. */
export const createCore = (ports: CorePorts, options: CoreOptions) => {
  const codec = new EventCodec(ports.cipher);
  const repo = new CustomerRepository(ports.store, { snapshots: ports.snapshots, metrics: ports.metrics });
  const projector = new Customer360Projector(ports.store, ports.keys, codec, ports.metrics);
  const publishChanges = async (tenant: string, events: readonly RecordedEvent[]): Promise<void> => {
    const changes = options.feed ? identityChangesOf(tenant, events) : [];
    if (changes.length > 0) await options.feed!.publish(changes);
  };
  // after-commit reads `engagement` lazily: the pipeline is built before it, and engagement's own
  // decisions go through the pipeline too (they trigger nothing)
  let engagement: EngagementUseCase | undefined;
  const react = async (tenant: string, events: readonly RecordedEvent[]) => (engagement ? engagement.react(tenant, events) : []);
  /** the Streams projector's hook, after the views: the identity feed, then engagement (a failure redelivers; both are idempotent) */
  const afterProject = async (tenant: string, events: readonly RecordedEvent[]): Promise<void> => {
    await publishChanges(tenant, events);
    await react(tenant, events);
  };
  const afterCommit: AfterCommit = options.inlineProjection
    ? async (tenant, events) => {
        await projector.apply(tenant, events, ports.readModels);
        await publishChanges(tenant, events);
        try {
          await react(tenant, events);
        } catch {
          // the triggering events are committed and projected; a missed offer is not worth failing them
          ports.metrics.increment('engagement_failed');
        }
      }
    : async () => {};
  const pipeline = new CommandPipeline(ports, repo, codec, afterCommit);
  engagement = options.engagement ? new EngagementUseCase(ports, repo, pipeline, options.engagement) : undefined;
  const ingest = new IngestUseCase(ports, repo, pipeline);
  const erasure = new ErasureUseCase(ports, repo, pipeline);
  const restriction = new RestrictionUseCase(ports, repo, pipeline);
  return {
    ports,
    codec,
    repo,
    projector,
    ingest,
    queries: new CustomerQueries(ports, repo, codec),
    identity: new IdentityUseCases(ports, repo, codec, pipeline),
    /** re-keys the claims of identifiers linked under an older normalization (NORMALIZATION_VERSION) */
    rekeyClaims: new RekeyClaims(ports, repo, codec, pipeline),
    rebuild: new RebuildProjections(ports.store, ports.readModels, projector, ports.clock, undefined, ports),
    quarantine: new QuarantineUseCases(ports.quarantine, ingest, ports.clock, options.sourceOf, ports),
    publishChanges,
    afterProject,
    engagement: {
      enabled: engagement !== undefined,
      /** decide for the triggering calls among committed events (done by afterCommit / afterProject) */
      react,
      history: new EngagementQueries(ports.readModels, repo),
      /** re-publishes what the outbox still holds: flush() once, or start()/stop() a loop */
      relay: new EngagementRelay(ports, options.engagement),
    },
    gdpr: {
      erase: async (...args: Parameters<ErasureUseCase['erase']>) => {
        const receipt = await erasure.erase(...args);
        // the erasure deletes views itself; inline, the feed learns of it from its tombstones here
        if (options.inlineProjection && options.feed) {
          const tombstones: RecordedEvent[] = [];
          for (const id of receipt.customers) {
            const last = (await ports.store.readStream(args[0], id)).at(-1);
            if (last?.type === 'CustomerErased') tombstones.push(decodeReadable(last));
          }
          await publishChanges(args[0], tombstones);
        }
        return receipt;
      },
      reapply: erasure.reapply.bind(erasure),
      /** the audit log of erasures, exports, consent and admin actions (ids only), a page at a time */
      auditLog: ports.audit.list.bind(ports.audit),
      /** the erasure ledger: every receipt, oldest first */
      receipts: ports.ledger.list.bind(ports.ledger),
      restrict: restriction.restrict.bind(restriction),
      unrestrict: restriction.unrestrict.bind(restriction),
    },
    /** access requests: everything held about a customer's cluster, as one JSON document */
    export: new ExportUseCase(ports, repo, codec, new CustomerQueries(ports, repo, codec)),
    consents: new ConsentUseCase(ports, repo, pipeline),
  };
};

export type Core = ReturnType<typeof createCore>;
