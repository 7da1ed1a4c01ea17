import { randomUUID } from 'node:crypto';
import { noKeyToStandIn, standInFor, type DataKey, type KeyStore } from '../../application/ports/keys.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { createDataKey, destroyDataKey } from '../crypto/node-crypto.js';

type TenantKeys = {
  readonly live: Map<string, DataKey>;
  readonly destroyed: Set<string>;
  /** the stand-ins (`<id>~...`) created for each id, destroyed with it */
  readonly standIns: Map<string, Set<string>>;
};

/**
 * Destroyed ids are remembered for good: a new key under an erased id would let a replayed
 * message quietly bring the customer back.
 */
export class MemoryKeyStore implements KeyStore {
  private readonly tenants = new Map<string, TenantKeys>();
  private fingerprint: string | undefined;

  constructor(private readonly newKey: (keyId: string) => DataKey = createDataKey) {}

  async getOrCreate(tenant: string, customerId: string): Promise<DataKey> {
    const t = this.tenant(tenant);
    const existing = t.live.get(customerId);
    if (existing) return existing;
    const notActive = () =>
      new DomainError('CUSTOMER_NOT_ACTIVE', `customer ${customerId} was erased; its data key cannot be recreated`, ['customerId'], { customerId });
    if (t.destroyed.has(customerId)) throw notActive();
    // a stand-in only for a live key (one destroyed took its stand-ins with it)
    const base = standInFor(customerId);
    if (base !== undefined && !t.live.has(base)) throw t.destroyed.has(base) ? notActive() : noKeyToStandIn(customerId, base);
    const key = this.newKey(randomUUID());
    t.live.set(customerId, key);
    if (base !== undefined) t.standIns.set(base, (t.standIns.get(base) ?? new Set()).add(customerId));
    return key;
  }

  async get(tenant: string, customerId: string): Promise<DataKey | null> {
    return this.tenants.get(tenant)?.live.get(customerId) ?? null;
  }

  async destroy(tenant: string, customerId: string): Promise<boolean> {
    const t = this.tenant(tenant);
    const key = t.live.get(customerId);
    // zeroing also disarms copies of the DataKey that callers may still hold
    if (key) destroyDataKey(key);
    t.live.delete(customerId);
    t.destroyed.add(customerId);
    // its stand-ins go with it
    for (const id of t.standIns.get(customerId) ?? []) await this.destroy(tenant, id);
    return key !== undefined;
  }

  async claimSecretFingerprint(): Promise<string | undefined> {
    return this.fingerprint;
  }

  async recordClaimSecretFingerprint(fingerprint: string): Promise<string> {
    this.fingerprint ??= fingerprint;
    return this.fingerprint;
  }

  /** What is held, as plain JSON. Key material is left out: a dump must never export keys. */
  dump(): unknown {
    const out: Record<string, unknown> = {};
    for (const [tenant, t] of this.tenants) {
      out[tenant] = { live: Object.fromEntries([...t.live].map(([id, k]) => [id, k.keyId])), destroyed: [...t.destroyed] };
    }
    return out;
  }

  private tenant(tenant: string): TenantKeys {
    let t = this.tenants.get(tenant);
    if (!t) this.tenants.set(tenant, (t = { live: new Map(), destroyed: new Set(), standIns: new Map() }));
    return t;
  }
}
