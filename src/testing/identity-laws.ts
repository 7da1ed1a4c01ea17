import fc from 'fast-check';
import { createCore, type Core } from '../application/core.js';
import type { IngestOutcome, IngestSource } from '../application/ingest/ingest.use-case.js';
import type { CustomerState } from '../domain/customer/customer.state.js';
import { compileRules, type CompiledRules, type IdentityRules } from '../domain/identity/rules.js';
import { createPorts, parseIdentityRules } from '../public/embed.js';
import { memoryStores } from '../public/memory.js';
import {
  arbGuardCampaign,
  arbHistory,
  arbLimitCampaign,
  arbWoven,
  guardReach,
  ID_TYPES,
  identifiersOf,
  limitTargets,
  MAX_PRESSURE_CUSTOMERS,
  MAX_PRESSURE_IDENTIFIERS,
  MAX_PRESSURE_VALUES,
  NOW,
  observedAtOf,
  TENANTS,
  toSegment,
  type CallSpec,
  type LimitTarget,
} from './arbitraries.js';

// The identity laws over a rules file of the caller's: generated Segment call histories go through
// a real core (in memory) under those rules, and after every call the outcome is checked against
// what the rules promise. A law that fails names the call, the customer and the rule, with the
// seed and the shrunk history to replay it.

export type IdentityLaw = {
  readonly name: string;
  /** what holds, in one sentence */
  readonly statement: string;
};

type Step = {
  readonly call: CallSpec;
  readonly outcome: IngestOutcome;
  /** the customers the call touched, as they were before it (the survivor and those merged in) */
  readonly before: readonly CustomerState[];
  /** the survivor after the call; undefined unless accepted */
  readonly after?: CustomerState | undefined;
};

type World = { readonly core: Core; readonly rules: CompiledRules; readonly keyOf: (tenant: string, type: string, value: string) => string };

type Check = (world: World, step: Step) => string[];

const WEB: IngestSource = { name: 'web', priority: 10, channel: 'web' };
const CRM: IngestSource = { name: 'crm', priority: 50, channel: 'crm' };

const count = (s: CustomerState, type: string, at: number, windowMs: number | undefined): number =>
  [...s.identifiers.values()].filter((i) => i.type === type && (windowMs === undefined || i.observedAt >= at - windowMs)).length;

const limits: Check = ({ rules }, { call, before, after }) => {
  if (!after) return [];
  const at = observedAtOf(call);
  const problems: string[] = [];
  // the pools' types and every type the customer holds (a caller's own types among them)
  for (const type of new Set<string>([...ID_TYPES, ...[...after.identifiers.values()].map((i) => i.type)])) {
    const { limit, windowMs } = rules.ruleFor(type);
    if (limit === null) continue;
    const n = count(after, type, at, windowMs);
    // a window may count older identifiers again: a customer keeps what it already held
    const allowed = windowMs === undefined ? limit : Math.max(limit, ...before.map((s) => count(s, type, at, windowMs)));
    if (n > allowed) problems.push(`call ${call.seq}: customer ${after.id} holds ${n} ${type} (limit ${limit}${windowMs ? ` per ${windowMs} ms` : ''})`);
  }
  return problems;
};

const blocked: Check = ({ rules, keyOf }, { call, after }) => {
  if (!after) return [];
  return identifiersOf(call)
    .filter((i) => rules.isBlocked(i) && after.identifiers.has(keyOf(call.tenant, i.type, i.value)))
    .map((i) => `call ${call.seq}: blocked ${i.type} "${i.value}" is linked to customer ${after.id}`);
};

const guard: Check = ({ rules }, { call, outcome, after }) => {
  if (!after || outcome.status !== 'accepted' || outcome.merged.length === 0) return [];
  const { maxCustomers, maxIdentifiers } = rules.source.clusterGuard;
  const customers = 1 + after.members.length;
  return customers > maxCustomers || after.identifiers.size > maxIdentifiers
    ? [
        `call ${call.seq}: a merge made customer ${after.id} a cluster of ${customers} customers / ${after.identifiers.size} identifiers (guard ${maxCustomers} / ${maxIdentifiers})`,
      ]
    : [];
};

/** a type whose value names one customer: at most one per customer, whenever it was seen */
const isUnique = (rules: CompiledRules, type: string): boolean => {
  const r = rules.ruleFor(type);
  return r.limit === 1 && r.windowMs === undefined;
};

const unique: Check = ({ rules, keyOf }, { call, after }) => {
  if (!after) return [];
  const candidates = identifiersOf(call).filter((i) => !rules.isBlocked(i) && isUnique(rules, i.type));
  if (candidates.length === 0) return [];
  const top = Math.max(...candidates.map((i) => rules.ruleFor(i.type).priority));
  // the strongest: those of the highest priority; of several tied there, the core may take any one
  const strongest = candidates.filter((i) => rules.ruleFor(i.type).priority === top);
  if (strongest.some((i) => after.identifiers.has(keyOf(call.tenant, i.type, i.value)))) return [];
  const [one] = strongest;
  if (strongest.length === 1)
    return [
      `call ${call.seq} carries ${one!.type} "${one!.value}" (limit 1) but was recorded on customer ${after.id}, which does not hold it: ` +
        `another identifier of the call outranked it (check the priorities of ${one!.type} and the call's other types)`,
    ];
  return [
    `call ${call.seq} carries ${strongest.map((i) => `${i.type} "${i.value}"`).join(', ')} (limit 1, tied at priority ${top}) but was recorded on customer ${after.id}, ` +
      'which holds none of them: a call is recorded on the holder of one of its strongest unique identifiers',
  ];
};

const CHECKS = {
  limits: { statement: 'no customer ever holds more identifiers of a type than its limit (counted within its window)', check: limits },
  blocked: { statement: 'a value the rules block is never linked to a customer', check: blocked },
  'cluster-guard': { statement: 'no merge makes a cluster larger than the cluster guard', check: guard },
  'unique-identifiers': {
    statement: 'a call is recorded on the customer that holds its strongest unique identifier (a type with limit 1 and no window)',
    check: unique,
  },
} satisfies Record<string, { readonly statement: string; readonly check: Check }>;

export type IdentityLawName = keyof typeof CHECKS | 'idempotence';

/** Every law, by name: what `checkIdentityLaws` runs unless told otherwise. */
export const IDENTITY_LAWS: readonly (IdentityLaw & { readonly name: IdentityLawName })[] = [
  ...Object.entries(CHECKS).map(([name, c]) => ({ name: name as IdentityLawName, statement: c.statement })),
  { name: 'idempotence', statement: 'ingesting a call again (same messageId) changes nothing' },
];

const newWorld = (rules: IdentityRules): World => {
  const clock = { now: () => NOW };
  const ports = createPorts({
    stores: memoryStores({ clock }),
    claimSecret: 'identity-laws-claim-secret-0123456789',
    settings: { identityRules: rules },
    clock,
  });
  const core = createCore(ports, { inlineProjection: false, sourceOf: (_t, name) => (name === 'crm' ? CRM : WEB) });
  return { core, rules: compileRules(rules), keyOf: (tenant, type, value) => ports.hasher.claimKey(tenant, type, value) };
};

const ingest = (world: World, c: CallSpec): Promise<IngestOutcome> => world.core.ingest.ingest(c.tenant, c.source === 'crm' ? CRM : WEB, toSegment(c));

const logLength = async (world: World): Promise<number> => {
  let n = 0;
  for (const tenant of TENANTS) {
    let after: string | undefined;
    for (;;) {
      const page = await world.core.ports.store.readAll(tenant, { after, limit: 500 });
      n += page.events.length;
      if (!page.next || page.events.length === 0) break;
      after = page.next;
    }
  }
  return n;
};

/** What one history showed: the problems, and what it reached (coverage keys, see `needs`). */
type Run = { readonly problems: string[]; readonly accepted: number; readonly reached: Set<string> };

/**
 * What a call would do to the customers it reaches, worked out from their states before it: which
 * limits it takes a customer past (a type's count over its limit, and over what each customer held
 * already) and which dimensions of the guard a merge of them would pass. Whatever the core then
 * decides, the law had something to check.
 */
const pressureOf = (world: World, known: ReadonlyMap<string, CustomerState>, call: CallSpec, targets: readonly LimitTarget[], reached: Set<string>) => {
  const { rules, keyOf } = world;
  const at = observedAtOf(call);
  const incoming = new Map(
    identifiersOf(call)
      .filter((i) => !rules.isBlocked(i))
      .map((i) => [keyOf(call.tenant, i.type, i.value), i.type] as const),
  );
  const owners = [...known.entries()]
    .filter(([k, s]) => k.startsWith(`${call.tenant}/`) && [...incoming.keys()].some((key) => s.identifiers.has(key)))
    .map(([, s]) => s);
  for (const t of targets) {
    const held = new Set<string>();
    for (const s of owners)
      for (const [k, i] of s.identifiers) if (i.type === t.type && (t.windowMs === undefined || i.observedAt >= at - t.windowMs)) held.add(k);
    for (const [k, type] of incoming) if (type === t.type) held.add(k);
    const before = Math.max(0, ...owners.map((s) => count(s, t.type, at, t.windowMs)));
    if (held.size > t.limit && held.size > before) reached.add(`limit:${t.type}`);
  }
  if (owners.length > 1) {
    const { maxCustomers, maxIdentifiers } = rules.source.clusterGuard;
    const keys = new Set(incoming.keys());
    for (const s of owners) for (const k of s.identifiers.keys()) keys.add(k);
    if (owners.reduce((n, s) => n + 1 + s.members.length, 0) > maxCustomers) reached.add('guard:customers');
    if (keys.size > maxIdentifiers) reached.add('guard:identifiers');
  }
};

/** The problems one history shows under one law (none: the law held), and what it exercised. */
const problemsOf = async (law: IdentityLawName, rules: IdentityRules, history: readonly CallSpec[]): Promise<Run> => {
  const world = newWorld(rules);
  const problems: string[] = [];
  const reached = new Set<string>();
  let accepted = 0;
  if (law === 'idempotence') {
    const first = [];
    for (const c of history) first.push(await ingest(world, c));
    const events = await logLength(world);
    for (const [k, c] of history.entries()) {
      if (first[k]!.status !== 'accepted') continue;
      accepted++;
      if (c.messageId === undefined) continue;
      reached.add('again');
      const again = await ingest(world, c);
      if (again.status !== 'duplicate') problems.push(`call ${c.seq} ingested again answered ${again.status}, not duplicate`);
    }
    const after = await logLength(world);
    if (after !== events) problems.push(`ingesting calls again added ${after - events} events to the log`);
    return { problems, accepted, reached };
  }
  const check = CHECKS[law].check;
  const targets = limitTargets(rules).reachable;
  const known = new Map<string, CustomerState>();
  for (const call of history) {
    pressureOf(world, known, call, targets, reached);
    const outcome = await ingest(world, call);
    if (outcome.status !== 'accepted') {
      problems.push(...check(world, { call, outcome, before: [] }));
      continue;
    }
    accepted++;
    const ids = identifiersOf(call);
    if (ids.some((i) => world.rules.isBlocked(i))) reached.add('blocked');
    if (ids.some((i) => !world.rules.isBlocked(i) && isUnique(world.rules, i.type))) reached.add('unique');
    const before = [outcome.customerId, ...outcome.merged].flatMap((id) => known.get(`${call.tenant}/${id}`) ?? []);
    const after = await world.core.repo.load(call.tenant, outcome.customerId);
    problems.push(...check(world, { call, outcome, before, after }));
    for (const id of outcome.merged) known.delete(`${call.tenant}/${id}`);
    known.set(`${call.tenant}/${after.id}`, after);
  }
  return { problems, accepted, reached };
};

class LawViolated extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** What a law must have met in at least one history to have checked anything, or why it has nothing to check. */
type Need = { readonly key: string; readonly label: string } | { readonly unreachable: string };

const needs = (law: IdentityLawName, rules: IdentityRules): { readonly needs: readonly Need[]; readonly inapplicable?: string | undefined } => {
  const compiled = compileRules(rules);
  switch (law) {
    case 'limits': {
      const { reachable, beyond, blocked } = limitTargets(rules);
      if (reachable.length + beyond.length + blocked.length === 0) return { needs: [], inapplicable: 'the rules limit no type' };
      return {
        needs: [
          ...reachable.map((t) => ({ key: `limit:${t.type}`, label: `${t.type} limit ${t.limit}` })),
          ...beyond.map((t) => ({ unreachable: `${t.type} limit ${t.limit} (the histories bring at most ${MAX_PRESSURE_VALUES - 1} values per type)` })),
          ...blocked.map((t) => ({ unreachable: `${t.type} limit ${t.limit} (the rules block the values the histories would take past it with)` })),
        ],
      };
    }
    case 'cluster-guard': {
      const reach = guardReach(rules);
      const { maxCustomers, maxIdentifiers } = rules.clusterGuard;
      return {
        needs: [
          reach.customers
            ? { key: 'guard:customers', label: `maxCustomers ${maxCustomers}` }
            : {
                unreachable: `maxCustomers ${maxCustomers} (the histories build clusters of at most ${MAX_PRESSURE_CUSTOMERS} customers, one anonymous id each: the anonymous_id limit must allow ${maxCustomers}, and maxIdentifiers exceed ${maxCustomers + 1})`,
              },
          reach.identifiers
            ? { key: 'guard:identifiers', label: `maxIdentifiers ${maxIdentifiers}` }
            : { unreachable: `maxIdentifiers ${maxIdentifiers} (the histories gather at most ${MAX_PRESSURE_IDENTIFIERS} identifiers)` },
        ],
      };
    }
    case 'blocked':
      return rules.blocked.values.some((v) => v.trim() !== '') || rules.blocked.patterns.length > 0
        ? { needs: [{ key: 'blocked', label: 'an accepted call carrying a blocked value' }] }
        : { needs: [], inapplicable: 'the rules block no value' };
    case 'unique-identifiers': {
      const unique = [...new Set<string>([...ID_TYPES, ...Object.keys(rules.types)])].filter((t) => isUnique(compiled, t));
      return unique.length > 0
        ? { needs: [{ key: 'unique', label: `an accepted call carrying a unique identifier (${unique.join(', ')})` }] }
        : { needs: [], inapplicable: 'no type has limit 1 without a window' };
    }
    case 'idempotence':
      return { needs: [{ key: 'again', label: 'an accepted call ingested again' }] };
  }
};

/** the histories a law is checked on: random ones, and random ones carrying a campaign that takes the rules to their bounds */
const historiesFor = (law: IdentityLawName, rules: IdentityRules, maxCalls: number): fc.Arbitrary<CallSpec[]> => {
  const random = arbHistory({ tenants: TENANTS, blocked: true, maxCalls, rules });
  const limit = arbWoven(random, arbLimitCampaign(rules), maxCalls);
  const guard = arbWoven(random, arbGuardCampaign(rules), maxCalls);
  if (law === 'limits') return fc.oneof(random, limit);
  if (law === 'cluster-guard') return fc.oneof(random, guard);
  return fc.oneof({ arbitrary: random, weight: 2 }, { arbitrary: limit, weight: 1 }, { arbitrary: guard, weight: 1 });
};

export type LawsOptions = {
  /** histories per law that checked something (at least one call accepted); default 100 */
  readonly numRuns?: number | undefined;
  /** fast-check's seed: the same seed replays the same histories; default random */
  readonly seed?: number | undefined;
  /** only these laws; default all */
  readonly laws?: readonly IdentityLawName[] | undefined;
  /** the longest random history; default 25 calls (the calls that take the rules to their limits and guard come on top) */
  readonly maxCalls?: number | undefined;
};

/** How often the histories met what a law checks: `what` in `histories` of `of` histories. */
export type LawCoverage = { readonly what: string; readonly histories: number; readonly of: number };

export type LawResult = IdentityLaw & {
  /**
   * nothing failed: the law held and checked what it is about (`exercised`), or it has nothing the
   * histories can check under these rules (`skipped` says why; `exercised` is then false)
   */
  readonly ok: boolean;
  /**
   * whether the histories met every condition the law is about (each limited type over its limit,
   * the guard, a blocked value, ...) at least once; false: the law checked nothing, and either
   * failed for it (`problems` says what was never met) or was skipped (`skipped`).
   */
  readonly exercised: boolean;
  /**
   * why the law checked nothing though nothing failed: the rules give it nothing to check
   * (`inapplicable`: no history is run), or every bound it is about is beyond what the histories
   * reach (`unreachable`: they ran, and met none of it)
   */
  readonly skipped?: string | undefined;
  /** why the law has nothing to check under these rules (no type limited, no value blocked, ...) */
  readonly inapplicable?: string | undefined;
  readonly coverage: readonly LawCoverage[];
  /** what the histories cannot reach under these rules (a limit beyond what they bring): not checked */
  readonly unreachable?: readonly string[] | undefined;
  readonly numRuns: number;
  readonly seed: number;
  /** on failure: fast-check's replay path (with the seed: `{ seed, path }`) */
  readonly path?: string | undefined;
  /** on failure: what went wrong in the shrunk history, or what the law never met */
  readonly problems?: readonly string[] | undefined;
  /** on failure: the shrunk history, as the Segment calls sent (tenant and source beside each) */
  readonly counterexample?: readonly { readonly tenant: string; readonly source: string; readonly call: Record<string, unknown> }[] | undefined;
};

/**
 * Runs the identity laws against `rules` (a parsed rules file: it is checked against the schema
 * first) and reports each law's outcome, with the seed and the shrunk counterexample of a failure.
 * The histories are sized from the rules (enough values to pass each limit, clusters grown past the
 * guard); a law whose condition no history met fails as not exercised, naming what was not reached.
 */
export const checkIdentityLaws = async (rules: unknown, options: LawsOptions = {}): Promise<LawResult[]> => {
  const parsed = parseIdentityRules(rules);
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const numRuns = options.numRuns ?? 100;
  const wanted = options.laws ?? IDENTITY_LAWS.map((l) => l.name);
  const results: LawResult[] = [];
  for (const law of IDENTITY_LAWS.filter((l) => wanted.includes(l.name))) {
    const { needs: need, inapplicable } = needs(law.name, parsed);
    const out = need.flatMap((n) => ('unreachable' in n ? [n.unreachable] : []));
    if (inapplicable !== undefined) {
      // the rules give the law nothing to check: said as not checked, never passed as if it had been
      results.push({ ...law, ok: true, exercised: false, skipped: inapplicable, inapplicable, coverage: [], numRuns: 0, seed });
      continue;
    }
    const tally = new Map<string, number>();
    let checked = 0;
    const property = fc.asyncProperty(historiesFor(law.name, parsed, options.maxCalls ?? 25), async (history) => {
      const run = await problemsOf(law.name, parsed, history);
      if (run.problems.length > 0) throw new LawViolated(run.problems);
      // a history whose every call was refused checks nothing: another is drawn in its place
      fc.pre(run.accepted > 0);
      checked++;
      for (const k of run.reached) tally.set(k, (tally.get(k) ?? 0) + 1);
    });
    // one skip per run at most: rules that refuse every call end the law soon, as not exercised
    const details = await fc.check(property, { numRuns, seed, maxSkipsPerRun: 1 });
    const coverage = need.flatMap((n) => ('key' in n ? [{ what: n.label, histories: tally.get(n.key) ?? 0, of: checked }] : []));
    const base = { ...law, coverage, unreachable: out.length > 0 ? out : undefined, seed };
    if (details.failed && details.counterexample === null) {
      // fast-check gave up: too many histories had no accepted call
      results.push({
        ...base,
        ok: false,
        exercised: false,
        numRuns: checked,
        problems: [
          `not exercised: ${details.numSkips} of ${details.numSkips + checked} histories had no call accepted (every call quarantined: do the rules block every value?)`,
        ],
      });
      continue;
    }
    if (!details.failed) {
      const problems = coverage.filter((c) => c.histories === 0).map((c) => `not exercised: ${c.what} was reached in none of the ${checked} histories`);
      // every bound the law is about beyond the histories' reach (a production-sized guard): the
      // histories ran, and the law held, but it met nothing it is about: not checked, not failed
      const skipped = coverage.length === 0 ? `every bound it is about is beyond what the histories reach: ${out.join('; ')}` : undefined;
      results.push({
        ...base,
        ok: problems.length === 0,
        exercised: problems.length === 0 && skipped === undefined,
        skipped,
        numRuns: details.numRuns,
        problems: problems.length > 0 ? problems : undefined,
      });
      continue;
    }
    const history = details.counterexample?.[0] ?? [];
    const error = details.errorInstance;
    results.push({
      ...base,
      ok: false,
      exercised: true,
      numRuns: details.numRuns,
      seed: details.seed,
      path: details.counterexamplePath ?? undefined,
      problems: error instanceof LawViolated ? error.problems : [String(error instanceof Error ? error.message : error)],
      counterexample: history.map((c) => ({ tenant: c.tenant, source: c.source, call: toSegment(c) })),
    });
  }
  return results;
};

/**
 * How often a law's conditions were met, as one line: `email limit 5 reached in 48/100 histories, ...`,
 * or why it was not checked: `not checked: the rules block no value`.
 */
export const formatCoverage = (r: LawResult): string =>
  r.skipped !== undefined
    ? `not checked: ${r.skipped}`
    : [...r.coverage.map((c) => `${c.what} reached in ${c.histories}/${c.of} histories`), ...(r.unreachable ?? []).map((u) => `not checked: ${u}`)].join(', ');

/** A failed law as text: the law, the seed and path to replay it, what went wrong, and the calls. */
export const formatLawFailure = (r: LawResult): string =>
  !r.exercised
    ? [
        `law "${r.name}" was not exercised: ${r.statement}`,
        `seed ${r.seed} (after ${r.numRuns} histories)`,
        ...(r.problems ?? []).map((p) => `  ${p}`),
        // with no history checked there is no coverage to show
        ...(r.numRuns > 0 ? [`  coverage: ${formatCoverage(r)}`] : []),
      ].join('\n')
    : [
        `law "${r.name}" failed: ${r.statement}`,
        `seed ${r.seed}${r.path ? `, path ${r.path}` : ''} (after ${r.numRuns} histories)`,
        ...(r.problems ?? []).map((p) => `  ${p}`),
        'counterexample (the calls, in order):',
        ...(r.counterexample ?? []).map((c, k) => `  ${k}. [${c.tenant}, ${c.source}] ${JSON.stringify(c.call)}`),
      ].join('\n');
