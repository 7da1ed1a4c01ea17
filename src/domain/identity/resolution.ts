import type { RejectionReason } from '../customer/customer.events.js';
import { countWithinWindow, type ClusterIdentifier, type CustomerState } from '../customer/customer.state.js';
import { compareStrings } from '../shared/compare.js';
import type { KeyedIdentifier } from './identifier.js';
import type { CompiledRules } from './rules.js';

// Segment's identity ladder as one pure decision: no match -> new customer, one -> attach,
// several -> merge into the survivor. A violated limit, guard or do-not-link mark drops the
// lowest-priority incoming identifier among those taking part in the violation (recorded as a
// rejection) and decides again: never one that plays no part, such as the call's own new
// anonymous id when a customer would get a second user id.

export type Rejection = {
  readonly identifier: KeyedIdentifier;
  readonly reason: RejectionReason;
  readonly detail: string;
  /** where the call carried it, for identifiers refused before resolution (invalid values) */
  readonly path?: readonly (string | number)[] | undefined;
};

export type ResolutionInput = {
  readonly incoming: readonly KeyedIdentifier[];
  /** identifiers of the call already refused (values that do not normalize): recorded, never matched */
  readonly invalid?: readonly Rejection[] | undefined;
  /** claim key -> the current survivor that holds it (pointers already followed) */
  readonly owners: ReadonlyMap<string, string>;
  /** the active survivors named in `owners` */
  readonly customers: ReadonlyMap<string, CustomerState>;
  readonly rules: CompiledRules;
  readonly observedAt: number;
  readonly newCustomerId: string;
  /**
   * claim keys dropped before any other incoming identifier taking part in a violation: a Segment
   * alias's previousId taken as a user id gives way to the call's own userId
   */
  readonly dropFirst?: ReadonlySet<string> | undefined;
};

export type Resolution =
  | { readonly kind: 'unresolvable'; readonly rejected: readonly Rejection[] }
  | {
      readonly kind: 'new' | 'attach' | 'merge';
      readonly survivorId: string;
      /** customers to absorb into the survivor, in a stable order */
      readonly absorbed: readonly string[];
      /** incoming identifiers the cluster does not hold yet */
      readonly link: readonly KeyedIdentifier[];
      readonly rejected: readonly Rejection[];
      /** per absorbed customer, the incoming identifiers that tie it to the others */
      readonly evidence: ReadonlyMap<string, readonly KeyedIdentifier[]>;
      readonly guardTripped: boolean;
    };

export const survivorOrder = (a: Pick<CustomerState, 'firstObservedAt' | 'id'>, b: Pick<CustomerState, 'firstObservedAt' | 'id'>): number =>
  a.firstObservedAt - b.firstObservedAt || compareStrings(a.id, b.id);

export type Violation = { readonly reason: RejectionReason; readonly detail: string };

/** What a violation needs to say who takes part: the type over its limit, or the customers that may not be joined. */
type Found = Violation & ({ readonly type: string } | { readonly customers: readonly string[] });

const limitViolation = (rules: CompiledRules, members: readonly CustomerState[], link: readonly KeyedIdentifier[], at: number): Found | undefined => {
  const union = new Map<string, ClusterIdentifier>();
  for (const m of members) for (const [k, id] of m.identifiers) union.set(k, id);
  for (const id of link) union.set(id.key, { type: id.type, key: id.key, observedAt: at, origin: '' });
  const types = new Set<string>(link.map((l) => l.type));
  if (members.length > 1) for (const id of union.values()) types.add(id.type);
  for (const type of types) {
    const rule = rules.ruleFor(type);
    if (rule.limit === null) continue;
    const after = countWithinWindow(union.values(), type, at, rule.windowMs);
    if (after <= rule.limit) continue;
    // a cluster already over its limit (a forced merge, stricter rules) may keep what it has
    const before = Math.max(0, ...members.map((m) => countWithinWindow(m.identifiers.values(), type, at, rule.windowMs)));
    if (after > before) {
      return { reason: 'IDENTIFIER_LIMIT_EXCEEDED', detail: `${type} limit ${rule.limit} would be exceeded (${after})`, type };
    }
  }
  return undefined;
};

const mergeViolation = (rules: CompiledRules, members: readonly CustomerState[], link: readonly KeyedIdentifier[]): Found | undefined => {
  for (const a of members) {
    for (const b of members) {
      if (a !== b && (a.doNotLink.has(b.id) || b.members.some((m) => a.doNotLink.has(m)))) {
        return { reason: 'DO_NOT_LINK', detail: 'these customers were split apart and are marked do-not-link', customers: [a.id, b.id] };
      }
    }
  }
  const customers = members.reduce((n, m) => n + 1 + m.members.length, 0);
  const keys = new Set<string>(link.map((l) => l.key));
  for (const m of members) for (const k of m.identifiers.keys()) keys.add(k);
  const guard = rules.source.clusterGuard;
  if (customers > guard.maxCustomers || keys.size > guard.maxIdentifiers) {
    return {
      reason: 'CLUSTER_GUARD_EXCEEDED',
      detail: `a merge would make a cluster of ${customers} customers / ${keys.size} identifiers (guard ${guard.maxCustomers} / ${guard.maxIdentifiers})`,
      customers: members.map((m) => m.id),
    };
  }
  return undefined;
};

const byPriorityAsc =
  (rules: CompiledRules, dropFirst: ReadonlySet<string> = new Set()) =>
  (a: KeyedIdentifier, b: KeyedIdentifier): number =>
    Number(dropFirst.has(b.key)) - Number(dropFirst.has(a.key)) ||
    rules.ruleFor(a.type).priority - rules.ruleFor(b.type).priority ||
    compareStrings(a.type, b.type) ||
    compareStrings(a.key, b.key);

type Attempt = { readonly active: readonly KeyedIdentifier[]; readonly members: readonly CustomerState[]; readonly link: readonly KeyedIdentifier[] };

/**
 * The incoming identifiers that take part in a violation: for a limit, those of the type being
 * linked and those that bring in a customer holding that type (within the window); for a guard or
 * a do-not-link mark, those that bring in the customers concerned.
 */
const takingPart = (input: ResolutionInput, { active, members, link }: Attempt, v: Found): readonly KeyedIdentifier[] => {
  let customers: ReadonlySet<string>;
  let linked = new Set<KeyedIdentifier>();
  if ('type' in v) {
    const { windowMs } = input.rules.ruleFor(v.type);
    customers = new Set(members.filter((m) => countWithinWindow(m.identifiers.values(), v.type, input.observedAt, windowMs) > 0).map((m) => m.id));
    linked = new Set(link.filter((l) => l.type === v.type));
  } else customers = new Set(v.customers);
  const part = active.filter((id) => linked.has(id) || customers.has(input.owners.get(id.key) ?? ''));
  return part.length > 0 ? part : active;
};

export const resolve = (input: ResolutionInput): Resolution => {
  const { rules, observedAt } = input;
  const rejected: Rejection[] = [...(input.invalid ?? [])];
  const seen = new Set<string>();
  let active: KeyedIdentifier[] = [];
  for (const id of input.incoming) {
    if (seen.has(id.key)) continue;
    seen.add(id.key);
    if (rules.isBlocked(id)) {
      // a blank value (only spaces) is a placeholder too, but "on the blocked list" would mislead
      const detail = id.value.trim() === '' ? `${id.type} value is blank` : `${id.type} value is on the blocked list`;
      rejected.push({ identifier: id, reason: 'IDENTIFIER_BLOCKED', detail });
    } else active.push(id);
  }
  let guardTripped = false;
  for (;;) {
    if (active.length === 0) return { kind: 'unresolvable', rejected };
    // the owners, each once, in the order their identifiers come (a loop: flatMap and a Set per
    // attempt cost more than the few owners a call has)
    const members: CustomerState[] = [];
    const survivorIds: string[] = [];
    for (const id of active) {
      const owner = input.owners.get(id.key);
      if (owner === undefined || survivorIds.includes(owner)) continue;
      survivorIds.push(owner);
      const c = input.customers.get(owner);
      if (!c) throw new Error(`resolution input lacks the state of customer ${owner}`);
      members.push(c);
    }
    members.sort(survivorOrder);
    const link = active.filter((id) => !members.some((m) => m.identifiers.has(id.key)));
    const violation = (members.length > 1 ? mergeViolation(rules, members, link) : undefined) ?? limitViolation(rules, members, link, observedAt);
    if (violation) {
      if (violation.reason === 'CLUSTER_GUARD_EXCEEDED') guardTripped = true;
      const drop = [...takingPart(input, { active, members, link }, violation)].sort(byPriorityAsc(rules, input.dropFirst))[0]!;
      rejected.push({ identifier: drop, reason: violation.reason, detail: violation.detail });
      active = active.filter((id) => id !== drop);
      continue;
    }
    const [survivor, ...absorbed] = members;
    const evidence = new Map<string, readonly KeyedIdentifier[]>();
    for (const a of absorbed) {
      evidence.set(
        a.id,
        active.filter((id) => {
          const owner = input.owners.get(id.key);
          return owner === a.id || owner === survivor!.id;
        }),
      );
    }
    return {
      kind: survivor ? (absorbed.length > 0 ? 'merge' : 'attach') : 'new',
      survivorId: survivor?.id ?? input.newCustomerId,
      absorbed: absorbed.map((a) => a.id),
      link,
      rejected,
      evidence,
      guardTripped,
    };
  }
};

/** Why merging these customers would break a rule (limits, guard, do-not-link), if it would. */
export const checkMerge = (rules: CompiledRules, members: readonly CustomerState[], at: number): Violation | undefined =>
  mergeViolation(rules, members, []) ?? limitViolation(rules, members, [], at);
