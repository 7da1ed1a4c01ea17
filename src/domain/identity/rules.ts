import { z } from 'zod';
import type { Identifier } from './identifier.js';

// built on first parse, not at import (a Lambda's cold start builds no schema it does not use)
const rulesSchema = () => {
  const TypeRule = z.object({
    /** Most identifiers of this type on one customer; null means unlimited. */
    limit: z.number().int().positive().nullable(),
    /** When set, only identifiers first seen within this many ms before the event count. */
    windowMs: z.number().int().positive().optional(),
    /** Higher is kept longer: on a limit violation the lowest-priority incoming identifier is dropped. */
    priority: z.number().int(),
  });

  /** Identity rules are data: per tenant and versioned. */
  const IdentityRules = z.object({
    version: z.number().int().positive(),
    types: z.record(z.string(), TypeRule),
    customType: TypeRule,
    blocked: z.object({
      values: z.array(z.string()),
      patterns: z.array(z.string()).refine(
        (ps) =>
          ps.every((p) => {
            try {
              new RegExp(p);
              return true;
            } catch {
              return false;
            }
          }),
        'every blocked pattern must be a valid regular expression',
      ),
    }),
    clusterGuard: z.object({
      maxCustomers: z.number().int().positive(),
      maxIdentifiers: z.number().int().positive(),
    }),
  });
  return IdentityRules;
};
export const IdentityRules = z.lazy(rulesSchema);
export type TypeRule = IdentityRules['customType'];
export type IdentityRules = z.infer<ReturnType<typeof rulesSchema>>;

export const DEFAULT_IDENTITY_RULES: IdentityRules = {
  version: 1,
  types: {
    user_id: { limit: 1, priority: 100 },
    crm_id: { limit: 1, priority: 90 },
    email: { limit: 5, priority: 80 },
    phone: { limit: 5, priority: 70 },
    device_id: { limit: 20, priority: 40 },
    anonymous_id: { limit: null, priority: 10 },
  },
  customType: { limit: null, priority: 50 },
  blocked: {
    values: ['', 'unknown', 'null', 'undefined', 'none', 'n/a', 'anonymous', 'test@test.com', 'test@example.com'],
    // all-zero ids (IDFA/GAID opt-outs, nil UUIDs) and placeholder phone numbers
    patterns: ['^[0-]+$', '^\\+?0+$'],
  },
  clusterGuard: { maxCustomers: 50, maxIdentifiers: 200 },
};

export type CompiledRules = {
  readonly source: IdentityRules;
  readonly ruleFor: (type: string) => TypeRule;
  readonly isBlocked: (id: Identifier) => boolean;
};

export const compileRules = (rules: IdentityRules): CompiledRules => {
  const values = new Set(rules.blocked.values.map((v) => v.trim().toLowerCase()));
  const patterns = rules.blocked.patterns.map((p) => new RegExp(p, 'i'));
  return {
    source: rules,
    ruleFor: (type) => rules.types[type] ?? rules.customType,
    isBlocked: (id) => {
      const v = id.value.toLowerCase();
      return values.has(v) || patterns.some((p) => p.test(v));
    },
  };
};
