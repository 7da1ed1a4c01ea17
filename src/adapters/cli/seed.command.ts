import type { Command } from 'commander';
import type { IngestOutcome, IngestSource } from '../../application/ingest/ingest.use-case.js';
import type { SeedData } from './cli.deps.js';
import { CliError, EXIT } from './cli-error.js';
import { MAX_BATCH_CALLS, remoteTarget } from './remote.js';
import { httpUrl, integer } from './options.js';
import { plural } from './output.js';
import type { Action, CommandContext } from './command-context.js';
import { startProgress } from './progress.js';

// `c360 seed`: synthetic people seen by web, mobile, CRM and support systems with overlapping
// identifiers, sent through the same ingest path as live traffic. People go to workers whole, so
// each person's calls keep their order whatever the concurrency.

type SeedOptions = {
  customers: number;
  products?: number;
  orders?: number;
  events?: number;
  seed: number;
  concurrency: number;
  url?: string;
  writeKey?: string;
  adminToken?: string;
};

/** The default data set's shape per person: sizes not given scale with --customers. */
export const PER_CUSTOMER = { orders: 10, events: 20 } as const;
export const MAX_DEFAULT_PRODUCTS = 200;
/** `seed --url` with an admin token: at most this many people a sender fills its one-source batches from */
const SOURCED_WINDOW = 200;
/** `seed --url`: at most this many batches in flight */
const MAX_SENDERS = 8;

/** The sizes a seed runs with: those given, the others in proportion to the people. */
export const seedSizes = (o: Pick<SeedOptions, 'customers' | 'products' | 'orders' | 'events'>) => ({
  customers: o.customers,
  products: o.products ?? Math.min(MAX_DEFAULT_PRODUCTS, o.customers),
  orders: o.orders ?? o.customers * PER_CUSTOMER.orders,
  events: o.events ?? o.customers * PER_CUSTOMER.events,
});

export const registerSeed = (program: Command, action: Action): void => {
  program
    .command('seed')
    .description(
      'generate customers, products, orders and clickstream across web/mobile/crm/support, and ingest them (same seed, same data); Ctrl-C stops it, and the same command again resumes',
    )
    .option('--customers <n>', 'people to generate', integer(1, 1_000_000), 5_000)
    .option(
      '--products <n>',
      `products in the catalogue that orders and views refer to (default: one per person, at most ${MAX_DEFAULT_PRODUCTS})`,
      integer(1, 100_000),
    )
    .option('--orders <n>', `orders in total, exact (default: ${PER_CUSTOMER.orders} per person, 50,000 for 5,000)`, integer(0, 10_000_000))
    .option(
      '--events <n>',
      `clickstream events in total: pages, screens, product views, tickets; exact (default: ${PER_CUSTOMER.events} per person, 100,000 for 5,000)`,
      integer(0, 50_000_000),
    )
    .option(
      '--seed <n>',
      'random seed; message ids carry it and name each call, so the same seed and sizes again change nothing, and other sizes add only the calls that differ',
      integer(0, 2 ** 31 - 1),
      42,
    )
    .option(
      '--concurrency <n>',
      'people ingested at once (their commits group on the embedded store; with --url, batches in flight, at most 8)',
      integer(1, 256),
      64,
    )
    .option(
      '--url <url>',
      'send to the API of a running server (e.g. http://127.0.0.1:3000) in batches of at most 100 calls, instead of writing to the store',
      httpUrl,
    )
    .option(
      '--admin-token <token>',
      "with --url: a token with the admin scope, so that each call is sent as its own source (web, mobile, crm, support), as a seed into the store writes it (default: C360_ADMIN_TOKEN, else the data dir's secrets.json, unless --write-key is given)",
    )
    .option(
      '--write-key <key>',
      "with --url and no admin token: the write key (default: C360_WRITE_KEY, else the data dir's secrets.json); every call is then that key's source",
    )
    .action(action((ctx, options: SeedOptions) => seed(ctx, options)));
};

const seed = async (ctx: CommandContext, options: SeedOptions): Promise<number> => {
  const { tenant, out } = ctx;
  const o = { ...options, ...seedSizes(options) };
  const plan = ctx.deps.seedData({ customers: o.customers, products: o.products, orders: o.orders, events: o.events, seed: o.seed });
  if (o.url !== undefined) return seedRemote(ctx, o, plan, o.url);
  const session = await ctx.session();
  const sources = new Map<string, IngestSource>();
  const sourceFor = (name: string): IngestSource => sources.get(name) ?? sources.set(name, session.sourceOf(tenant, name)).get(name)!;
  const outcomes: Record<IngestOutcome['status'], number> = { accepted: 0, duplicate: 0, quarantined: 0, rejected: 0 };
  const bySource: Record<string, number> = {};
  const problems: { code: string; fields: string[] }[] = [];
  let created = 0;
  let merges = 0;
  let done = 0;
  let failed: unknown;
  let interrupted = false;
  const started = Date.now();
  const progress = startProgress(ctx.deps.io, { label: 'seed', total: plan.stats.calls, unit: 'calls' });
  // Ctrl-C: every worker ends after the call it is sending; what was sent is kept
  const unsubscribe = ctx.deps.onInterrupt?.(() => {
    interrupted = true;
    progress.interrupt();
  });
  const people = plan.people[Symbol.iterator]();
  const worker = async () => {
    for (let next = people.next(); !next.done && failed === undefined && !interrupted; next = people.next()) {
      for (const { source, call } of next.value) {
        if (interrupted) return;
        const outcome = await session.core.ingest.ingest(tenant, sourceFor(source), call);
        outcomes[outcome.status]++;
        bySource[source] = (bySource[source] ?? 0) + 1;
        if (outcome.status === 'accepted') [created, merges] = [created + (outcome.created ? 1 : 0), merges + outcome.merged.length];
        if ((outcome.status === 'quarantined' || outcome.status === 'rejected') && problems.length < 5)
          problems.push({ code: outcome.error.code, fields: outcome.error.issues.map((i) => i.path) });
        progress.update(++done, () => `${plural(done, 'call')}, ${plural(merges, 'merge')}`);
      }
    }
  };
  // the first failure stops every worker from taking another person
  try {
    await Promise.all(Array.from({ length: o.concurrency }, () => worker().catch((e: unknown) => void (failed ??= e))));
  } finally {
    unsubscribe?.();
  }
  progress.stop(`${plural(done, 'call')}, ${plural(merges, 'merge')}`, failed !== undefined || interrupted);
  if (failed !== undefined) throw failed;
  await session.drainBackground();

  const elapsedMs = Date.now() - started;
  const result = {
    tenant,
    seed: o.seed,
    customers: o.customers,
    products: o.products,
    orders: o.orders,
    events: o.events,
    calls: done,
    ...(interrupted ? { interrupted: true, planned: plan.stats.calls } : {}),
    bySource,
    outcomes,
    customersCreated: created,
    merges,
    elapsedMs,
    problems,
  };
  out.result(result);
  if (interrupted) {
    const again = ['c360', ...(ctx.tenant === ctx.deps.defaultTenant ? [] : ['--tenant', tenant]), 'seed', ...seedArgs(o)].join(' ');
    // stderr: the result on stdout stays one document under --json
    ctx.deps.io.stderr.write(
      `interrupted: ${done.toLocaleString('en-US')} of ${plural(plan.stats.calls, 'call')} sent (${outcomes.accepted.toLocaleString('en-US')} accepted, ${plural(outcomes.duplicate, 'duplicate')}) in ${(elapsedMs / 1000).toFixed(1)} s; they are kept.\n` +
        `  to resume, run the same command again (${again}): what is already seeded is skipped as duplicates\n`,
    );
  }
  out.line(`${interrupted ? 'partly seeded' : 'seeded'} tenant "${tenant}" (seed ${o.seed}) in ${(elapsedMs / 1000).toFixed(1)} s`);
  out.line(
    `  ${plural(o.customers, 'person', 'people')}, ${plural(o.products, 'product')}, ${plural(o.orders, 'order')}, ${plural(o.events, 'clickstream event')}`,
  );
  out.line(
    `  ${plural(done, 'call')}: ${Object.entries(bySource)
      .map(([s, n]) => `${s} ${n.toLocaleString('en-US')}`)
      .join(', ')}`,
  );
  out.line(
    `  ${outcomes.accepted.toLocaleString('en-US')} accepted, ${plural(outcomes.duplicate, 'duplicate')} (already seeded), ${outcomes.quarantined.toLocaleString('en-US')} quarantined`,
  );
  out.line(`  identity resolution: ${plural(created, 'customer')} started, ${plural(merges, 'merge')} joined them into people`);
  for (const p of problems) out.line(`  refused: ${p.code}${p.fields.length ? ` at ${p.fields.join(', ')}` : ''} (see c360 quarantine list)`);
  if (interrupted) return EXIT.interrupted;
  return outcomes.quarantined + outcomes.rejected > 0 ? 1 : 0;
};

/** The options that give the same data set, spelled out (sizes included, so a rerun is the same seed). */
const seedArgs = (o: ReturnType<typeof seedSizes> & { seed: number }): string[] => [
  '--customers',
  String(o.customers),
  '--products',
  String(o.products),
  '--orders',
  String(o.orders),
  '--events',
  String(o.events),
  '--seed',
  String(o.seed),
];

/**
 * `seed --url`: the same calls, as Segment batches to a running server. With an admin token each
 * batch holds one source's calls and names it (C360-Source), so the server stores what a seed into
 * the store writes (a person's calls stay in order; a batch holds the next calls of many people,
 * those from its source); with a write key, every call is the key's source and batches hold whole
 * people where they fit.
 */
const seedRemote = async (ctx: CommandContext, o: ReturnType<typeof seedSizes> & SeedOptions, plan: ReturnType<SeedData>, url: string): Promise<number> => {
  const { out } = ctx;
  const adminToken = o.adminToken ?? (o.writeKey === undefined ? ctx.deps.adminToken?.() : undefined);
  const writeKey = o.writeKey ?? ctx.deps.writeKey?.();
  if (!adminToken && !writeKey)
    throw new CliError(
      "--url needs a credential: pass --admin-token or --write-key, set C360_ADMIN_TOKEN or C360_WRITE_KEY, or run with the server's data dir (C360_DATA_DIR) so that its secrets.json is read",
      EXIT.usage,
    );
  const sourced = adminToken !== undefined;
  const target = remoteTarget(url, sourced ? { adminToken } : { writeKey: writeKey! });
  const started = Date.now();
  const progress = startProgress(ctx.deps.io, { label: 'seed', total: plan.stats.calls, unit: 'calls' });
  let sent = 0;
  let quarantined = 0;
  let batchesSent = 0;
  const problems: { code: string; fields: string[] }[] = [];
  let failed: unknown;
  let interrupted = false;
  const unsubscribe = ctx.deps.onInterrupt?.(() => {
    interrupted = true;
    progress.interrupt();
  });
  const bySource: Record<string, number> = {};
  const people = plan.people[Symbol.iterator]();
  const flush = async (calls: unknown[], source?: string) => {
    const invalid = await target.send(calls, source);
    batchesSent++;
    sent += calls.length;
    if (source !== undefined) bySource[source] = (bySource[source] ?? 0) + calls.length;
    quarantined += invalid.length;
    for (const i of invalid) if (problems.length < 5) problems.push({ code: i.code, fields: (i.issues ?? []).map((x) => x.path) });
    progress.update(sent, () => `${plural(sent, 'call')} in ${plural(batchesSent, 'batch', 'batches')}`);
  };
  // Each worker sends its people's calls in order, a batch at a time. A batch names one source,
  // and a person's calls change source every few calls, so a worker keeps a window of people and
  // fills each batch with the next calls of every person whose next call is from the source most of
  // them are waiting on. A person's calls go out in order: the next ones only after the batch
  // holding the earlier ones is answered. No two people share an identifier, so people may share
  // a batch in any order.
  const senders = Math.min(o.concurrency, MAX_SENDERS);
  // people shared out among the senders, so that a smaller seed keeps them all busy too, and at
  // least 25 in a window where there are that many, so that batches still hold many calls
  const windowSize = Math.min(SOURCED_WINDOW, Math.max(25, Math.ceil(o.customers / senders)));
  const sourcedWorker = async () => {
    const window: { calls: readonly { readonly source: string; readonly call: unknown }[]; at: number }[] = [];
    let more = true;
    while (failed === undefined && !interrupted) {
      while (more && window.length < windowSize) {
        const next = people.next();
        if (next.done) more = false;
        else if (next.value.length) window.push({ calls: next.value, at: 0 });
      }
      if (!window.length) return;
      const waiting = new Map<string, number>();
      for (const p of window) waiting.set(p.calls[p.at]!.source, (waiting.get(p.calls[p.at]!.source) ?? 0) + 1);
      const source = [...waiting].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      const batch: unknown[] = [];
      for (const p of window) {
        while (batch.length < MAX_BATCH_CALLS && p.at < p.calls.length && p.calls[p.at]!.source === source) batch.push(p.calls[p.at++]!.call);
        if (batch.length >= MAX_BATCH_CALLS) break;
      }
      await flush(batch, source);
      for (let i = window.length - 1; i >= 0; i--) if (window[i]!.at >= window[i]!.calls.length) window.splice(i, 1);
    }
  };
  const worker = async () => {
    let buffer: unknown[] = [];
    for (let next = people.next(); !next.done && failed === undefined && !interrupted; next = people.next()) {
      if (buffer.length && buffer.length + next.value.length > MAX_BATCH_CALLS) [buffer] = [[], await flush(buffer)];
      for (const { call } of next.value) buffer.push(call);
      while (buffer.length >= MAX_BATCH_CALLS && !interrupted) await flush(buffer.splice(0, MAX_BATCH_CALLS));
    }
    if (buffer.length && failed === undefined && !interrupted) await flush(buffer);
  };
  try {
    await Promise.all(Array.from({ length: senders }, () => (sourced ? sourcedWorker() : worker()).catch((e: unknown) => void (failed ??= e))));
  } finally {
    unsubscribe?.();
  }
  progress.stop(`${plural(sent, 'call')} in ${plural(batchesSent, 'batch', 'batches')}`, failed !== undefined || interrupted);
  if (failed !== undefined) throw failed;
  const elapsedMs = Date.now() - started;
  out.result({
    url: target.url,
    seed: o.seed,
    customers: o.customers,
    products: o.products,
    orders: o.orders,
    events: o.events,
    calls: sent,
    ...(interrupted ? { interrupted: true, planned: plan.stats.calls } : {}),
    batches: batchesSent,
    ...(sourced ? { bySource } : {}),
    quarantined,
    elapsedMs,
    problems,
  });
  if (interrupted)
    ctx.deps.io.stderr.write(
      `interrupted: ${sent.toLocaleString('en-US')} of ${plural(plan.stats.calls, 'call')} sent in ${(elapsedMs / 1000).toFixed(1)} s; the server keeps them.\n` +
        `  to resume, run the same command again (c360 seed ${seedArgs(o).join(' ')} --url ${target.url}): what is already there is skipped as duplicates\n`,
    );
  out.line(
    `${interrupted ? 'partly sent' : 'sent'} seed ${o.seed} to ${target.url} in ${(elapsedMs / 1000).toFixed(1)} s (${sourced ? "the admin token's tenant; each call as its source" : "the write key's tenant and source"})`,
  );
  out.line(
    `  ${plural(o.customers, 'person', 'people')}, ${plural(o.products, 'product')}, ${plural(o.orders, 'order')}, ${plural(o.events, 'clickstream event')}`,
  );
  out.line(`  ${plural(sent, 'call')} in ${plural(batchesSent, 'batch', 'batches')}, ${quarantined.toLocaleString('en-US')} quarantined by the server`);
  if (sourced)
    out.line(
      `  by source: ${Object.entries(bySource)
        .map(([s, n]) => `${s} ${n.toLocaleString('en-US')}`)
        .join(', ')}`,
    );
  for (const p of problems) out.line(`  refused: ${p.code}${p.fields.length ? ` at ${p.fields.join(', ')}` : ''} (see GET /v1/quarantine)`);
  if (interrupted) return EXIT.interrupted;
  return quarantined > 0 ? 1 : 0;
};
