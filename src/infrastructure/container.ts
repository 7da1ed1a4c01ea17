import { Container } from 'inversify';
import { createCore } from '../application/core.js';
import type { CorePorts } from '../application/deps.js';
import type { IngestSource } from '../application/ingest/ingest.use-case.js';
import { StaticTenantSettings } from '../adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, SystemClock, UuidV7Generator } from '../adapters/crypto/node-crypto.js';
import { MemoryEventStore } from '../adapters/memory/memory.event-store.js';
import { MemoryKeyStore } from '../adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../adapters/memory/memory.read-model-store.js';
import { MemorySnapshotStore } from '../adapters/memory/memory.snapshot-store.js';
import { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { scoreConfigFor, type Config } from './config.js';
import { TOKENS } from './tokens.js';

// The composition root: the only place that knows which adapter serves which port.

export const buildContainer = (config: Config): Container => {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind(TOKENS.Config).toConstantValue(config);
  c.bind(TOKENS.Clock).toConstantValue(new SystemClock());
  c.bind(TOKENS.IdGenerator).toConstantValue(new UuidV7Generator());
  c.bind(TOKENS.Cipher).toConstantValue(new AesGcmCipher());
  c.bind(TOKENS.Hasher).toConstantValue(new HmacHasher(() => config.claimSecret));
  c.bind(TOKENS.Metrics).toConstantValue(new MemoryMetrics());
  c.bind(TOKENS.TenantSettings).toConstantValue(
    new StaticTenantSettings({
      identityRules: config.identityRules,
      scoreConfig: scoreConfigFor(config),
      phoneRegion: config.phoneRegion,
      idempotencyTtlMs: config.idempotencyTtlMs,
    }),
  );
  c.bind(TOKENS.EventStore).toDynamicValue((ctx) => new MemoryEventStore(ctx.get(TOKENS.Clock)));
  c.bind(TOKENS.ReadModelStore).toDynamicValue(() => new MemoryReadModelStore());
  c.bind(TOKENS.KeyStore).toDynamicValue(() => new MemoryKeyStore());
  c.bind(TOKENS.Quarantine).toDynamicValue(() => new MemoryQuarantine());
  c.bind(TOKENS.SnapshotStore).toDynamicValue(() => new MemorySnapshotStore());
  c.bind(TOKENS.Core).toDynamicValue((ctx) => {
    const ports: CorePorts = {
      store: ctx.get(TOKENS.EventStore),
      readModels: ctx.get(TOKENS.ReadModelStore),
      keys: ctx.get(TOKENS.KeyStore),
      cipher: ctx.get(TOKENS.Cipher),
      hasher: ctx.get(TOKENS.Hasher),
      clock: ctx.get(TOKENS.Clock),
      ids: ctx.get(TOKENS.IdGenerator),
      quarantine: ctx.get(TOKENS.Quarantine),
      settings: ctx.get(TOKENS.TenantSettings),
      metrics: ctx.get(TOKENS.Metrics),
      snapshots: ctx.get(TOKENS.SnapshotStore),
    };
    return createCore(ports, { inlineProjection: true, sourceOf: (_tenant, name) => sourceFor(config, name) });
  });
  return c;
};

export const sourceFor = (config: Config, name: string): IngestSource => {
  const s = config.sources[name];
  return { name, priority: s?.priority ?? 0, channel: s?.channel ?? 'web' };
};
