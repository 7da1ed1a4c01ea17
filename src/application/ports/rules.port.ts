import type { PhoneRegion } from '../../domain/identity/identifier.js';
import type { CompiledRules } from '../../domain/identity/rules.js';
import type { ScoreConfig } from '../../domain/projection/scores.js';

/** How long a write's idempotency record answers repeats, unless configured: 7 days. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 86_400_000;

/** Per-tenant, versioned configuration the use cases read. */
export interface TenantSettings {
  identityRules(tenant: string): CompiledRules;
  scoreConfig(tenant: string): ScoreConfig;
  /** default region for phone numbers without a country code, e.g. "US" */
  phoneRegion(tenant: string): PhoneRegion;
  idempotencyTtlMs(tenant: string): number;
  /**
   * whether probable duplicates at or above the auto-merge threshold merge on their own; absent or
   * false: they are only suggested (the default)
   */
  autoMerge?(tenant: string): boolean;
}
