import { randomUUID } from 'node:crypto';
import type { DataKey, KeyStore } from '../../application/ports/keys.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { createDataKey, destroyDataKey } from '../crypto/node-crypto.js';

type TenantKeys = { readonly live: Map<string, DataKey>; readonly destroyed: Set<string> };

/**
 * Destroyed ids are remembered for good: a new key under an erased id would let a replayed
 * message quietly bring the customer back.
 */
export class MemoryKeyStore implements KeyStore {
  private readonly tenants = new Map<string, TenantKeys>();

  constructor(private readonly newKey: (keyId: string) => DataKey = createDataKey) {}

  async getOrCreate(tenant: string, customerId: string): Promise<DataKey> {
    const t = this.tenant(tenant);
    const existing = t.live.get(customerId);
    if (existing) return existing;
    if (t.destroyed.has(customerId)) {
      throw new DomainError('CUSTOMER_NOT_ACTIVE', `customer ${customerId} was erased; its data key cannot be recreated`, ['customerId'], { customerId });
    }
    const key = this.newKey(randomUUID());
    t.live.set(customerId, key);
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
    return key !== undefined;
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
    if (!t) this.tenants.set(tenant, (t = { live: new Map(), destroyed: new Set() }));
    return t;
  }
}
