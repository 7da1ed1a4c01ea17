import { z } from 'zod';
import { misspellingOf, strictFields } from '../shared/names.js';
import { isIdentifierType, KNOWN_IDENTIFIER_TYPES, MAX_VALUE_LENGTH, normalizeIdentifierType, type Identifier } from './identifier.js';
import { MAX_PATTERNS, unsafePatternReason } from './pattern-safety.js';

// Every object of a rules document is strict: a key it does not take (`clusterguard` for
// `clusterGuard`) is refused by name, never ignored. A type is named as calls' types are normalized
// (lower snake case: `Loyalty-ID` is refused, naming loyalty_id). Identifier types may be custom by design, but a
// custom type that is a near-certain slip for a built-in one (`emial`, `userid`) is refused unless
// its entry says `"custom": true`. Blocked-value patterns that could backtrack without bound are
// refused (pattern-safety.ts). Built on first parse, not at import (a Lambda's cold start builds no
// schema it does not use).
const rulesSchema = () => {
  const typeRuleShape = {
    /** Most identifiers of this type on one customer; null means unlimited. */
    limit: z.number().int().positive().nullable(),
    /** When set, only identifiers first seen within this many ms before the event count. */
    windowMs: z.number().int().positive().optional(),
    /** Higher is kept longer: on a limit violation the lowest-priority incoming identifier is dropped. */
    priority: z.number().int(),
  };
  const TypeRule = strictFields(typeRuleShape);
  /** An entry of `types`: `custom: true` says a name close to a built-in type is meant, not a typo. */
  const TypeEntry = strictFields({ ...typeRuleShape, custom: z.literal(true).optional() });

  /** Identity rules are data: per tenant and versioned. */
  const IdentityRules = strictFields({
    version: z.number().int().positive(),
    types: z.record(z.string(), TypeEntry).superRefine(
      (types, ctx) => {
        for (const [name, entry] of Object.entries(types)) {
          // a call's types are normalized (`Loyalty-ID` is loyalty_id): a rule under any other name never applies
          if (!isIdentifierType(name)) {
            const normalized = normalizeIdentifierType(name);
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `type "${name}" is not lower snake case (1-40 characters), so no call's identifier would ever match it: types are normalized${
                isIdentifierType(normalized) ? `; did you mean ${normalized}?` : ''
              }`,
            });
            continue;
          }
          const builtIn = (KNOWN_IDENTIFIER_TYPES as readonly string[]).includes(name);
          const custom = typeof entry === 'object' && entry !== null && entry.custom === true;
          if (builtIn && custom) ctx.addIssue({ code: 'custom', path: [name, 'custom'], message: `${name} is a built-in type, not a custom one` });
          const near = builtIn ? undefined : misspellingOf(name, KNOWN_IDENTIFIER_TYPES);
          if (near !== undefined && !custom)
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `custom type "${name}" looks like a misspelling of the built-in type ${near}. If it is meant, say so with "custom": true in its entry`,
            });
        }
      },
      // the names are checked even when an entry is wrong too: every problem is named at once
      { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
    ),
    customType: TypeRule,
    blocked: strictFields({
      values: z.array(z.string()),
      patterns: z
        .array(z.string())
        .max(MAX_PATTERNS)
        .superRefine((ps, ctx) => {
          ps.forEach((p, i) => {
            try {
              new RegExp(p);
            } catch {
              return ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(p)} is not a valid regular expression` });
            }
            const why = unsafePatternReason(p);
            if (why) ctx.addIssue({ code: 'custom', path: [i], message: `pattern ${JSON.stringify(p)} is refused: ${why}` });
          });
        }),
    }),
    clusterGuard: strictFields({
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
  // rules handed over as an object, without parseIdentityRules, get the same refusal
  const patterns = rules.blocked.patterns.map((p, i) => {
    const why = unsafePatternReason(p);
    if (why) throw new RangeError(`invalid identity rules: blocked.patterns.${i}: pattern ${JSON.stringify(p)} is refused: ${why}`);
    return new RegExp(p, 'i');
  });
  return {
    source: rules,
    ruleFor: (type) => rules.types[type] ?? rules.customType,
    isBlocked: (id) => {
      const v = id.value.toLowerCase();
      // a value longer than any identifier is refused as one anyway: no pattern runs over it
      return values.has(v) || (v.length <= MAX_VALUE_LENGTH && patterns.some((p) => p.test(v)));
    },
  };
};
