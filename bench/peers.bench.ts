import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { EventStore as CastoreEventStore, EventType as CastoreEventType } from '@castore/core';
import { InMemoryEventStorageAdapter } from '@castore/event-storage-adapter-in-memory';
import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { MemoryEventStore } from '../src/adapters/memory/memory.event-store.js';
import type { StoredEvent } from '../src/application/ports/event-store.port.js';
import { writeReadmeTable } from './readme-table.js';

// Our in-memory event store against the in-memory event stores of two event-sourcing libraries,
// Castore (@castore/core with @castore/event-storage-adapter-in-memory) and Emmett
// (@event-driven-io/emmett's getInMemoryEventStore), on the same workload in the same process:
// STREAMS streams of EVENTS events each, appended one event per call with the expected version
// (ours: a commit with expectedVersion; Castore: pushEvent with the event's version, which its
// adapter refuses when taken; Emmett: appendToStream with expectedStreamVersion), interleaved as
// live traffic is (every stream's version 1, then every stream's version 2, ...), then every
// stream read back whole (ours: readStream; Castore: getEvents; Emmett: readStream) and checked.
// Every store gets the same payload objects (built before the clock starts: an encrypted-size
// personal section, readable data, the envelope fields ours stores); each wraps them in its own
// envelope as its API asks. Each round builds fresh stores and runs them in a rotated order, so
// no store always runs first (JIT warm-up) or last (a fuller heap); the rows give the median of
// the rounds, their spread, and our ratio to each peer (median of the per-round ratios). A
// warm-up on the first 1,000 streams, not counted, runs every store's code before the first round.
//
// What each does per append, read from their sources (node_modules): ours checks the commit
// against the DynamoDB limits every store enforces (commit-checks.ts) and keeps one log per tenant
// besides the streams; Castore's adapter scans the stream for the version (findIndex) and its
// EventStore runs the reducer on version 1; Emmett's counts every stream's events for the global
// position (so its append slows as streams grow in number) and copies the stream on each append.
//
// Run alone: npm run bench:peers. BENCH_PEER_STREAMS (default 10,000), BENCH_PEER_EVENTS
// (default 20) and BENCH_PEER_ROUNDS (default 3) change the workload.

export type PeerRow = { name: string; value: number; unit: string; note?: string };

type Payload = {
  readonly eventId: string;
  readonly v: number;
  readonly observedAt: number;
  readonly recordedAt: number;
  readonly source: string;
  readonly sourcePriority: number;
  readonly channel: 'web';
  readonly messageId: string;
  readonly identifierKeys: readonly string[];
  readonly data: { readonly names: readonly string[]; readonly context: 'identify' };
  readonly pii: string;
};

/** What each store does with the workload: append one event (its stream's next version), read one stream whole. */
type Contender = {
  readonly name: string;
  append(stream: number, version: number): Promise<void>;
  /** how many events the stream held, after checking they come back in order */
  read(stream: number): Promise<number>;
};

const TENANT = 'bench';
const TYPE = 'TraitsUpdated';

const payloadOf = (stream: string, version: number): Payload => ({
  eventId: randomUUID(),
  v: 1,
  observedAt: 1_767_225_600_000 + version * 1_000,
  recordedAt: 1_767_225_600_000 + version * 1_000 + 5,
  source: 'web-sdk',
  sourcePriority: 10,
  channel: 'web',
  messageId: `msg-${stream}-${version}`,
  identifierKeys: [Buffer.alloc(32, version % 256).toString('base64url')],
  data: { names: ['plan', 'firstName'], context: 'identify' },
  // the size of a real encrypted personal section (version, IV, ciphertext, tag)
  pii: `v1.${Buffer.alloc(12, version % 256).toString('base64url')}.${Buffer.alloc(96, 7).toString('base64url')}.${Buffer.alloc(16, 3).toString('base64url')}`,
});

const inOrder = (stream: string, versions: readonly number[]): number => {
  for (let i = 0; i < versions.length; i++) if (versions[i] !== i + 1) throw new Error(`stream ${stream} read back out of order at ${i}: ${versions[i]}`);
  return versions.length;
};

const ours = (ids: readonly string[], payloads: readonly (readonly Payload[])[]): Contender => {
  const store = new MemoryEventStore();
  return {
    name: 'ours (MemoryEventStore)',
    async append(s, version) {
      const streamId = ids[s]!;
      const event: StoredEvent = { tenant: TENANT, streamId, version, type: TYPE, ...payloads[s]![version - 1]! };
      const r = await store.commit({ tenant: TENANT, streams: [{ streamId, expectedVersion: version - 1, events: [event] }], claims: [] });
      if (r.status !== 'committed') throw new Error(`ours: ${streamId} v${version} was not committed: ${r.status}`);
    },
    async read(s) {
      const events = await store.readStream(TENANT, ids[s]!);
      return inOrder(
        ids[s]!,
        events.map((e) => e.version),
      );
    },
  };
};

const castore = (ids: readonly string[], payloads: readonly (readonly Payload[])[]): Contender => {
  const traitsUpdated = new CastoreEventType<typeof TYPE, Payload>({ type: TYPE });
  const store = new CastoreEventStore({
    eventStoreId: 'CUSTOMERS',
    eventTypes: [traitsUpdated],
    reducer: (_aggregate: unknown, event: { aggregateId: string; version: number }) => ({ aggregateId: event.aggregateId, version: event.version }),
    eventStorageAdapter: new InMemoryEventStorageAdapter(),
  });
  return {
    name: 'Castore (InMemoryEventStorageAdapter)',
    async append(s, version) {
      const p = payloads[s]![version - 1]!;
      await store.pushEvent({ aggregateId: ids[s]!, version, type: TYPE, timestamp: new Date(p.recordedAt).toISOString(), payload: p });
    },
    async read(s) {
      const { events } = await store.getEvents(ids[s]!);
      return inOrder(
        ids[s]!,
        events.map((e) => e.version),
      );
    },
  };
};

const emmett = (ids: readonly string[], payloads: readonly (readonly Payload[])[]): Contender => {
  const store = getInMemoryEventStore();
  return {
    name: 'Emmett (getInMemoryEventStore)',
    async append(s, version) {
      await store.appendToStream(ids[s]!, [{ type: TYPE, data: payloads[s]![version - 1]! }], { expectedStreamVersion: BigInt(version - 1) });
    },
    async read(s) {
      const { events } = await store.readStream(ids[s]!);
      return inOrder(
        ids[s]!,
        events.map((e) => Number(e.metadata.streamPosition)),
      );
    },
  };
};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const spread = (xs: readonly number[], f: (n: number) => string): string => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;

export const runPeersBench = async (
  options: { readonly streams?: number; readonly events?: number; readonly rounds?: number; readonly log?: (line: string) => void } = {},
): Promise<PeerRow[]> => {
  const streams = options.streams ?? Number(process.env.BENCH_PEER_STREAMS ?? 10_000);
  const eventsPerStream = options.events ?? Number(process.env.BENCH_PEER_EVENTS ?? 20);
  const rounds = options.rounds ?? Number(process.env.BENCH_PEER_ROUNDS ?? 3);
  const log = options.log ?? ((line: string) => console.log(line));
  const total = streams * eventsPerStream;

  const ids = Array.from({ length: streams }, () => randomUUID());
  const payloads = ids.map((id) => Array.from({ length: eventsPerStream }, (_, i) => payloadOf(id, i + 1)));
  const makers = [ours, castore, emmett];
  const appendRates: number[][] = makers.map(() => []);
  const readRates: number[][] = makers.map(() => []);
  let names: string[] = [];

  // warm-up, not counted: every store's code compiled before the first timed round
  const warm = Math.min(streams, 1_000);
  for (const make of makers) {
    const c = make(ids, payloads);
    for (let version = 1; version <= eventsPerStream; version++) for (let s = 0; s < warm; s++) await c.append(s, version);
    for (let s = 0; s < warm; s++) await c.read(s);
  }

  for (let round = 0; round < rounds; round++) {
    const order = makers.map((_, i) => (i + round) % makers.length);
    for (const k of order) {
      const c = makers[k]!(ids, payloads);
      names[k] = c.name;
      const a0 = performance.now();
      for (let version = 1; version <= eventsPerStream; version++) for (let s = 0; s < streams; s++) await c.append(s, version);
      const appendSeconds = (performance.now() - a0) / 1000;
      const r0 = performance.now();
      let read = 0;
      for (let s = 0; s < streams; s++) read += await c.read(s);
      const readSeconds = (performance.now() - r0) / 1000;
      if (read !== total) throw new Error(`${c.name} read back ${read} events, not ${total}`);
      appendRates[k]!.push(total / appendSeconds);
      readRates[k]!.push(total / readSeconds);
      log(`peers round ${round + 1}/${rounds}: ${c.name}: append ${fmt(total / appendSeconds)} events/s, read ${fmt(total / readSeconds)} events/s`);
    }
  }
  names = names.map((n, i) => n ?? `store ${i}`);

  const rows: PeerRow[] = [];
  const workload = `${fmt(streams)} streams x ${eventsPerStream} events, one append per call with the expected version, interleaved`;
  for (const [what, rates] of [
    ['append', appendRates],
    ['read back', readRates],
  ] as const) {
    for (let k = 0; k < makers.length; k++) {
      const note =
        k === 0
          ? `${workload}; median of ${rounds} rounds, spread ${spread(rates[0]!, fmt)}`
          : `ours ${median(rates[0]!.map((r, i) => r / rates[k]![i]!)).toFixed(2)}x (per-round ratios ${spread(
              rates[0]!.map((r, i) => r / rates[k]![i]!),
              (n) => n.toFixed(2),
            )}); median of ${rounds} rounds, spread ${spread(rates[k]!, fmt)}`;
      rows.push({ name: `in-memory event store ${what}: ${names[k]}`, value: Math.round(median(rates[k]!)), unit: 'events/s', note });
    }
  }
  return rows;
};

// npm run bench:peers: these rows alone (the full bench needs Java for DynamoDB Local): a table,
// bench/results/peers.json, and the README's table of these rows rewritten from them.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runPeersBench();
  console.table(rows.map((r) => ({ benchmark: r.name, value: r.value.toLocaleString('en-US'), unit: r.unit, note: r.note ?? '' })));
  const meta = `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString().slice(0, 10)}.`;
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/peers.json', import.meta.url),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
  );
  writeReadmeTable('peers', rows, meta);
}
