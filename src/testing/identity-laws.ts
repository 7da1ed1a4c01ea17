import fc from 'fast-check';
import { createCore, type Core } from '../application/core.js';
import type { IngestOutcome, IngestSource } from '../application/ingest/ingest.use-case.js';
import type { CustomerState } from '../domain/customer/customer.state.js';
import { compileRules, type CompiledRules, type IdentityRules } from '../domain/identity/rules.js';
import { createPorts, parseIdentityRules } from '../public/embed.js';
import { memoryStores } from '../public/memory.js';
import { arbHistory, ID_TYPES, identifiersOf, NOW, observedAtOf, TENANTS, toSegment, type CallSpec } from './arbitraries.js';

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
  const strongest = candidates.sort((a, b) => rules.ruleFor(b.type).priority - rules.ruleFor(a.type).priority)[0];
  if (!strongest || after.identifiers.has(keyOf(call.tenant, strongest.type, strongest.value))) return [];
  return [
    `call ${call.seq} carries ${strongest.type} "${strongest.value}" (limit 1) but was recorded on customer ${after.id}, which does not hold it: ` +
      `another identifier of the call outranked it (check the priorities of ${strongest.type} and the call's other types)`,
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

/** The problems one history shows under one law (none: the law held). */
const problemsOf = async (law: IdentityLawName, rules: IdentityRules, history: readonly CallSpec[]): Promise<string[]> => {
  const world = newWorld(rules);
  const problems: string[] = [];
  if (law === 'idempotence') {
    const first = [];
    for (const c of history) first.push(await ingest(world, c));
    const events = await logLength(world);
    for (const [k, c] of history.entries()) {
      if (c.messageId === undefined || first[k]!.status !== 'accepted') continue;
      const again = await ingest(world, c);
      if (again.status !== 'duplicate') problems.push(`call ${c.seq} ingested again answered ${again.status}, not duplicate`);
    }
    const after = await logLength(world);
    if (after !== events) problems.push(`ingesting calls again added ${after - events} events to the log`);
    return problems;
  }
  const check = CHECKS[law].check;
  const known = new Map<string, CustomerState>();
  for (const call of history) {
    const outcome = await ingest(world, call);
    if (outcome.status !== 'accepted') {
      problems.push(...check(world, { call, outcome, before: [] }));
      continue;
    }
    const before = [outcome.customerId, ...outcome.merged].flatMap((id) => known.get(`${call.tenant}/${id}`) ?? []);
    const after = await world.core.repo.load(call.tenant, outcome.customerId);
    problems.push(...check(world, { call, outcome, before, after }));
    for (const id of outcome.merged) known.delete(`${call.tenant}/${id}`);
    known.set(`${call.tenant}/${after.id}`, after);
  }
  return problems;
};

class LawViolated extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export type LawsOptions = {
  /** histories per law; default 100 */
  readonly numRuns?: number | undefined;
  /** fast-check's seed: the same seed replays the same histories; default random */
  readonly seed?: number | undefined;
  /** only these laws; default all */
  readonly laws?: readonly IdentityLawName[] | undefined;
  /** the longest history generated; default 25 calls */
  readonly maxCalls?: number | undefined;
};

export type LawResult = IdentityLaw & {
  readonly ok: boolean;
  readonly numRuns: number;
  readonly seed: number;
  /** on failure: fast-check's replay path (with the seed: `{ seed, path }`) */
  readonly path?: string | undefined;
  /** on failure: what went wrong in the shrunk history */
  readonly problems?: readonly string[] | undefined;
  /** on failure: the shrunk history, as the Segment calls sent (tenant and source beside each) */
  readonly counterexample?: readonly { readonly tenant: string; readonly source: string; readonly call: Record<string, unknown> }[] | undefined;
};

/**
 * Runs the identity laws against `rules` (a parsed rules file: it is checked against the schema
 * first) and reports each law's outcome, with the seed and the shrunk counterexample of a failure.
 */
export const checkIdentityLaws = async (rules: unknown, options: LawsOptions = {}): Promise<LawResult[]> => {
  const parsed = parseIdentityRules(rules);
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const numRuns = options.numRuns ?? 100;
  const wanted = options.laws ?? IDENTITY_LAWS.map((l) => l.name);
  const results: LawResult[] = [];
  for (const law of IDENTITY_LAWS.filter((l) => wanted.includes(l.name))) {
    // histories from the pools and from the rules themselves: their own types, blocked values and patterns
    const property = fc.asyncProperty(arbHistory({ tenants: TENANTS, blocked: true, maxCalls: options.maxCalls ?? 25, rules: parsed }), async (history) => {
      const problems = await problemsOf(law.name, parsed, history);
      if (problems.length > 0) throw new LawViolated(problems);
    });
    const details = await fc.check(property, { numRuns, seed });
    if (!details.failed) {
      results.push({ ...law, ok: true, numRuns: details.numRuns, seed });
      continue;
    }
    const history = details.counterexample?.[0] ?? [];
    const error = details.errorInstance;
    results.push({
      ...law,
      ok: false,
      numRuns: details.numRuns,
      seed: details.seed,
      path: details.counterexamplePath ?? undefined,
      problems: error instanceof LawViolated ? error.problems : [String(error instanceof Error ? error.message : error)],
      counterexample: history.map((c) => ({ tenant: c.tenant, source: c.source, call: toSegment(c) })),
    });
  }
  return results;
};

/** A failed law as text: the law, the seed and path to replay it, what went wrong, and the calls. */
export const formatLawFailure = (r: LawResult): string =>
  [
    `law "${r.name}" failed: ${r.statement}`,
    `seed ${r.seed}${r.path ? `, path ${r.path}` : ''} (after ${r.numRuns} histories)`,
    ...(r.problems ?? []).map((p) => `  ${p}`),
    'counterexample (the calls, in order):',
    ...(r.counterexample ?? []).map((c, k) => `  ${k}. [${c.tenant}, ${c.source}] ${JSON.stringify(c.call)}`),
  ].join('\n');
