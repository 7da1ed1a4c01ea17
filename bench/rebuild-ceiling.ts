import { performance } from 'node:perf_hooks';
import type { EventStore, StoredEvent } from '../src/application/ports/event-store.port.js';

// The ceiling a full rebuild is reported against, in the same run: the same stored events as a
// row store holds them (one JSON document per event, ciphertext included), parsed with
// JSON.parse and folded trivially (per stream: a count and the latest observedAt). None of our
// code runs in it: no decoding, no decryption, no projection. A rebuild does strictly more per
// event (decrypt the personal fields the view reads, fold a whole Customer360), so the ratio
// says how far from "just touching every event" it is.

/** Every stored event of `tenant`, one JSON document each, in log order. */
export const storedRows = async (store: EventStore, tenant: string): Promise<string[]> => {
  const rows: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.readAll(tenant, { after, limit: 1_000 });
    for (const e of page.events) rows.push(JSON.stringify(e));
    if (!page.next || page.events.length === 0) return rows;
    after = page.next;
  }
};

type Tally = { count: number; last: number };

/** Parses and folds every row once; events/s by the wall clock and by this process's CPU time. */
export const runCeiling = (rows: readonly string[]): { readonly wall: number; readonly cpu: number; readonly streams: number } => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const tallies = new Map<string, Tally>();
  for (const row of rows) {
    const e = JSON.parse(row) as StoredEvent;
    const t = tallies.get(e.streamId);
    if (t === undefined) tallies.set(e.streamId, { count: 1, last: e.observedAt });
    else {
      t.count++;
      if (e.observedAt > t.last) t.last = e.observedAt;
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: rows.length / wall, cpu: rows.length / ((c.user + c.system) / 1e6), streams: tallies.size };
};
