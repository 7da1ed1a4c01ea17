import type { PhoneRegion } from '../../domain/identity/identifier.js';
import { compileRules, DEFAULT_IDENTITY_RULES, type CompiledRules, type IdentityRules } from '../../domain/identity/rules.js';
import { DEFAULT_SCORE_CONFIG, type ScoreConfig } from '../../domain/projection/scores.js';
import { DEFAULT_IDEMPOTENCY_TTL_MS, type TenantSettings } from '../../application/ports/rules.port.js';

export type TenantSettingsInput = {
  readonly identityRules?: IdentityRules | undefined;
  readonly scoreConfig?: ScoreConfig | undefined;
  readonly phoneRegion?: PhoneRegion | undefined;
  readonly idempotencyTtlMs?: number | undefined;
  /** probabilistic matches at or above the auto-merge threshold merge on their own (default false) */
  readonly autoMerge?: boolean | undefined;
  /** per-tenant overrides of the values above */
  readonly tenants?: Readonly<Record<string, Omit<TenantSettingsInput, 'tenants'>>> | undefined;
};

/** Settings from configuration, with rules compiled once per tenant. */
export class StaticTenantSettings implements TenantSettings {
  private readonly compiled = new Map<string, CompiledRules>();

  constructor(private readonly input: TenantSettingsInput = {}) {}

  private pick<K extends keyof Omit<TenantSettingsInput, 'tenants'>>(tenant: string, key: K): TenantSettingsInput[K] {
    return this.input.tenants?.[tenant]?.[key] ?? this.input[key];
  }

  identityRules(tenant: string): CompiledRules {
    let rules = this.compiled.get(tenant);
    if (!rules) {
      rules = compileRules(this.pick(tenant, 'identityRules') ?? DEFAULT_IDENTITY_RULES);
      this.compiled.set(tenant, rules);
    }
    return rules;
  }

  scoreConfig(tenant: string): ScoreConfig {
    return this.pick(tenant, 'scoreConfig') ?? DEFAULT_SCORE_CONFIG;
  }

  phoneRegion(tenant: string): PhoneRegion {
    return this.pick(tenant, 'phoneRegion') ?? 'US';
  }

  idempotencyTtlMs(tenant: string): number {
    return this.pick(tenant, 'idempotencyTtlMs') ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  }

  autoMerge(tenant: string): boolean {
    return this.pick(tenant, 'autoMerge') ?? false;
  }
}
