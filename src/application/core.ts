import { CustomerQueries } from './customers/customer.queries.js';
import { CustomerRepository } from './customers/customer.repository.js';
import { IdentityUseCases } from './customers/identity.use-cases.js';
import type { CorePorts } from './deps.js';
import { EventCodec } from './event-codec.js';
import { IngestUseCase, type AfterCommit, type IngestSource } from './ingest/ingest.use-case.js';
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
};

/** The use cases over a set of ports: what every driving adapter (HTTP, Lambda, CLI) talks to. */
export const createCore = (ports: CorePorts, options: CoreOptions) => {
  const codec = new EventCodec(ports.cipher);
  const repo = new CustomerRepository(ports.store, { snapshots: ports.snapshots, metrics: ports.metrics });
  const projector = new Customer360Projector(ports.store, ports.keys, codec, ports.metrics);
  const afterCommit: AfterCommit = options.inlineProjection
    ? (tenant, events) => projector.apply(tenant, events, ports.readModels)
    : async () => {};
  const ingest = new IngestUseCase(ports, repo, codec, afterCommit);
  return {
    ports,
    codec,
    repo,
    projector,
    ingest,
    queries: new CustomerQueries(ports, repo, codec),
    identity: new IdentityUseCases(ports, repo, codec, afterCommit),
    rebuild: new RebuildProjections(ports.store, ports.readModels, projector, ports.clock),
    quarantine: new QuarantineUseCases(ports.quarantine, ingest, ports.clock, options.sourceOf),
  };
};

export type Core = ReturnType<typeof createCore>;
