import { RekeyClaims } from './admin/rekey-claims.use-case.js';
import { ConsentUseCase } from './customers/consent.use-case.js';
import { CustomerQueries } from './customers/customer.queries.js';
import { CustomerRepository } from './customers/customer.repository.js';
import { IdentityUseCases } from './customers/identity.use-cases.js';
import type { CorePorts } from './deps.js';
import { EngagementQueries } from './engagement/engagement.queries.js';
import { EngagementRelay } from './engagement/engagement.relay.js';
import { EngagementUseCase, type EngagementOptions, type Unprojected } from './engagement/engagement.use-case.js';
import { ErasureUseCase } from './gdpr/erasure.use-case.js';
import { ExportUseCase } from './gdpr/export.use-case.js';
import { RestrictionUseCase } from './gdpr/restriction.use-case.js';
import { decodeReadable, EventCodec } from './event-codec.js';
import { identityChangesOf } from './identity-changes.js';
import type { IdentityFeed } from './ports/identity-feed.port.js';
import type { RecordedEvent } from '../domain/customer/customer.events.js';
import { DEFAULT_MATCH_BOOK_OPTIONS, MatchBookProjection, MatchDecisionsSeen, type MatchBookOptions } from './matching/match-book.projection.js';
import { MatchDecisions } from './matching/match-decisions.use-case.js';
import { MatchScan } from './matching/match-scan.use-case.js';
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
  /**
   * With inline projection: decide engagement before a triggering call commits and commit the
   * decision with it (one commit, one projection), instead of in a commit of its own after. Needs
   * a store that writes a commit's `alsoRecorded` idempotency records (memory, SQLite, DynamoDB);
   * a store that says it cannot (`alsoRecords: false`, EventStoreDB) keeps the commit of its own.
   * Default false.
   */
  readonly engagementInCommit?: boolean | undefined;
  /**
   * How long the deployment's backups keep what an erasure deletes (DynamoDB point-in-time
   * recovery, the lake bucket's old object versions): an erasure receipt then says when it is
   * complete in the backups too (`backupsCleanAt`). Absent: no backups of ours to wait for.
   */
  readonly backupRetentionMs?: number | undefined;
  /** the stored match book: its seed and up to how many records its model is fitted again on its own */
  readonly matching?: Partial<MatchBookOptions> | undefined;
};

/** `make` run on the first call, its value kept */
const once = <T>(make: () => T): (() => T) => {
  let made: { readonly value: T } | undefined;
  return () => (made ??= { value: make() }).value;
};

/**
 * The use cases over a set of ports: what every driving adapter (HTTP, Lambda, CLI) talks to.
 * Each is built on first use, with what it needs: a process that only ingests never builds the
 * GDPR, export or engagement pieces, and with ports resolved on first read (the composition
 * root's) never opens their stores either.
 */
export const createCore = (ports: CorePorts, options: CoreOptions) => {
  const codec = once(() => new EventCodec(ports.cipher));
  const repo = once(() => new CustomerRepository(ports.store, { snapshots: ports.snapshots, metrics: ports.metrics }));
  const projector = once(() => new Customer360Projector(ports.store, ports.keys, codec(), ports.metrics));
  const publishChanges = async (tenant: string, events: readonly RecordedEvent[]): Promise<void> => {
    const feed = options.feed;
    const changes = feed ? identityChangesOf(tenant, events) : [];
    if (changes.length > 0) await feed!.publish(changes);
  };
  // after-commit builds `engagement` on its first decision: the pipeline is built before it, and
  // engagement's own decisions go through the pipeline too (they trigger nothing)
  const engagement = once((): EngagementUseCase | undefined =>
    options.engagement ? new EngagementUseCase(ports, repo(), pipeline(), options.engagement) : undefined,
  );
  const react = async (tenant: string, events: readonly RecordedEvent[], unprojected?: Unprojected) => {
    const e = engagement();
    return e ? e.react(tenant, events, unprojected) : [];
  };
  /** the Streams projector's hook, after the views: the identity feed, the match book, then engagement (a failure redelivers; all are idempotent) */
  const afterProject = async (tenant: string, events: readonly RecordedEvent[]): Promise<void> => {
    await publishChanges(tenant, events);
    await keepMatchBook(tenant, events);
    await react(tenant, events);
  };
  /** the same without the match book: where a follower of its own keeps the book (the embedded store) */
  const afterProjectButBook = async (tenant: string, events: readonly RecordedEvent[]): Promise<void> => {
    await publishChanges(tenant, events);
    await react(tenant, events);
  };
  /** the match book after the views: a failure is counted, never failing the commit or blocking the stream (a rebuild repairs the book) */
  const keepMatchBook = async (tenant: string, events: readonly RecordedEvent[]): Promise<void> => {
    try {
      await matching().project(tenant, events);
    } catch {
      ports.metrics.increment('match_book_failed');
    }
  };
  const afterCommit: AfterCommit = options.inlineProjection
    ? async (tenant, events, annexed) => {
        // engagement decides first, against the view with the triggering events folded in
        // (currentView), and its decisions are projected with them: one write of the view, not two.
        // Decided within the commit already (annexed): the decisions are among the events.
        const decided: RecordedEvent[] = [];
        const sends: (() => Promise<void>)[] = [];
        try {
          if (!annexed)
            await react(tenant, events, {
              decided: (recorded, send) => {
                decided.push(...recorded);
                if (send) sends.push(send);
              },
            });
        } catch {
          // the triggering events are committed and get projected; a missed offer is not worth failing them
          ports.metrics.increment('engagement_failed');
        }
        const all = decided.length > 0 ? [...events, ...decided] : events;
        try {
          await projector().apply(tenant, all, ports.readModels);
          await publishChanges(tenant, events);
          await keepMatchBook(tenant, all);
        } finally {
          // notifications once the view shows their decisions (the outbox relay retries what fails here)
          for (const send of sends) await send().catch(() => ports.metrics.increment('engagement_failed'));
        }
      }
    : async () => {};
  // a store that cannot write a commit's alsoRecorded says so (EventStoreDB): its decisions keep a commit of their own
  const inCommit = () =>
    options.inlineProjection && options.engagementInCommit === true && options.engagement !== undefined && ports.store.alsoRecords !== false;
  const pipeline = once(
    (): CommandPipeline =>
      new CommandPipeline(ports, repo(), codec(), afterCommit, inCommit() ? (tenant, streams) => engagement()!.annex(tenant, streams) : undefined),
  );
  const ingest = once(() => new IngestUseCase(ports, repo(), pipeline()));
  // the match book forgets the cluster with its views: no record, blocking entry, suggestion or decision names it
  const erasure = once(() => new ErasureUseCase(ports, repo(), pipeline(), options.backupRetentionMs, (tenant, ids) => matchBook().erase(tenant, ids)));
  const restriction = once(() => new RestrictionUseCase(ports, repo(), pipeline()));
  const queries = once(() => new CustomerQueries(ports, repo(), codec(), projector()));
  const identity = once(() => new IdentityUseCases(ports, repo(), codec(), pipeline()));
  const rekeyClaims = once(() => new RekeyClaims(ports, repo(), codec(), pipeline()));
  // the match book is rebuilt after the views it reads (its model fitted again)
  const rebuild = once(
    () =>
      new RebuildProjections(ports.store, ports.readModels, projector(), ports.clock, undefined, ports, (tenant) => {
        // where the log reads in commit order, the rebuild's own pass gathers the book's decisions
        // and its docs stand for the store's: the log is read once, the views not at all
        if (ports.store.logInCommitOrder !== true) return { see: () => {}, finish: () => matchBook().rebuild(tenant) };
        const seen = new MatchDecisionsSeen();
        return {
          see: (streamId, event) => {
            if (MatchDecisionsSeen.TYPES.has(event.type)) seen.see(streamId, event);
          },
          finish: (views, through) => matchBook().rebuild(tenant, { seen, through, views }),
        };
      }),
  );
  const quarantine = once(() => new QuarantineUseCases(ports.quarantine, ingest(), ports.clock, options.sourceOf, ports));
  const history = once(() => new EngagementQueries(ports.readModels, repo(), ports.ledger));
  const relay = once(() => new EngagementRelay(ports, options.engagement));
  const exports = once(() => new ExportUseCase(ports, repo(), codec(), queries(), (tenant, ids) => matchBook().heldAbout(tenant, ids)));
  const consents = once(() => new ConsentUseCase(ports, repo(), pipeline()));
  const matchBook = once(() => new MatchBookProjection(ports, { ...DEFAULT_MATCH_BOOK_OPTIONS, ...options.matching }));
  const matching = once(
    () =>
      new MatchScan(ports.readModels, identity(), matchBook(), new MatchDecisions(ports, repo(), pipeline(), codec()), ports.metrics, (tenant) =>
        ports.settings.autoMerge ? ports.settings.autoMerge(tenant) : false,
      ),
  );
  const gdpr = once(() => ({
    erase: async (...args: Parameters<ErasureUseCase['erase']>) => {
      const receipt = await erasure().erase(...args);
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
    reapply: (...args: Parameters<ErasureUseCase['reapply']>) => erasure().reapply(...args),
    /** the audit log of erasures, exports, consent and admin actions (ids only), a page at a time */
    auditLog: (...args: Parameters<CorePorts['audit']['list']>) => ports.audit.list(...args),
    /** the erasure ledger: every receipt, oldest first */
    receipts: (...args: Parameters<CorePorts['ledger']['list']>) => ports.ledger.list(...args),
    restrict: (...args: Parameters<RestrictionUseCase['restrict']>) => restriction().restrict(...args),
    unrestrict: (...args: Parameters<RestrictionUseCase['unrestrict']>) => restriction().unrestrict(...args),
  }));
  const engagementFacade = {
    enabled: options.engagement !== undefined,
    /** decide for the triggering calls among committed events (done by afterCommit / afterProject) */
    react,
    get history() {
      return history();
    },
    /** re-publishes what the outbox still holds: flush() once, or start()/stop() a loop */
    get relay() {
      return relay();
    },
  };
  return {
    ports,
    get codec() {
      return codec();
    },
    get repo() {
      return repo();
    },
    get projector() {
      return projector();
    },
    get ingest() {
      return ingest();
    },
    get queries() {
      return queries();
    },
    get identity() {
      return identity();
    },
    /** re-keys the claims of identifiers linked under an older normalization (NORMALIZATION_VERSION) */
    get rekeyClaims() {
      return rekeyClaims();
    },
    get rebuild() {
      return rebuild();
    },
    get quarantine() {
      return quarantine();
    },
    publishChanges,
    /** resolves once every write whose commit had started has run its after-commit step (inline projection, engagement) */
    settled: (): Promise<void> => pipeline().settled(),
    afterProject,
    afterProjectButBook,
    keepMatchBook,
    engagement: engagementFacade,
    get gdpr() {
      return gdpr();
    },
    /** access requests: everything held about a customer's cluster, as one JSON document */
    get export() {
      return exports();
    },
    get consents() {
      return consents();
    },
    /** probabilistic matching, all from the stored match book: every suggested pair (`c360 match`), one customer's suggestions, accept and reject */
    get matching() {
      return matching();
    },
    /** the stored match book (a read model of the log): rebuilt by `rebuild`, cleared of erased customers */
    get matchBook() {
      return matchBook();
    },
  };
};

export type Core = ReturnType<typeof createCore>;
