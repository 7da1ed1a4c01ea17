import { describe, expect, it } from 'vitest';
import { MemoryErasureLedger } from '../../../src/adapters/memory/memory.erasure-ledger.js';
import { markLakeClean } from '../../../src/application/lake/lake-clean.js';
import type { ErasureReceipt } from '../../../src/application/ports/erasure-ledger.port.js';

// The lake writer's run marks a receipt clean once every customer of it is barred (purged) in the
// lake; a receipt recorded after the run that purged its rows is marked by the next run.

const receipt = (erasureId: string, customers: string[], more: Partial<ErasureReceipt> = {}): ErasureReceipt => ({
  erasureId,
  tenant: 't',
  requestedId: customers[0]!,
  customers,
  erasedAt: '2026-01-05T09:00:00.000Z',
  actor: 'dpo',
  removed: { streams: 1, dataKeys: 1, claims: 1, views: 1, snapshots: 0, quarantined: 0 },
  ...more,
});

describe('markLakeClean', () => {
  it('marks the receipts whose whole cluster is purged, keeps an earlier mark, and leaves a partly purged cluster', async () => {
    const ledger = new MemoryErasureLedger();
    await ledger.record(receipt('0190-a', ['a', 'a2']));
    await ledger.record(receipt('0190-b', ['b', 'b2']));
    await ledger.record(receipt('0190-c', ['c'], { lakeCleanAt: '2026-01-05T09:01:00.000Z' }));
    const n = await markLakeClean(ledger, 't', new Set(['a', 'a2', 'b', 'c']), '2026-01-05T09:20:00.000Z');
    expect(n).toBe(1);
    expect((await ledger.find('t', 'a2'))?.lakeCleanAt).toBe('2026-01-05T09:20:00.000Z');
    expect((await ledger.find('t', 'b'))?.lakeCleanAt).toBeUndefined();
    expect((await ledger.find('t', 'c'))?.lakeCleanAt).toBe('2026-01-05T09:01:00.000Z');
  });

  it('marks a receipt recorded after the run that purged its rows at the next run, across pages of the ledger', async () => {
    const ledger = new MemoryErasureLedger();
    for (let i = 0; i < 150; i++) await ledger.record(receipt(`0190-${String(i).padStart(3, '0')}`, [`x-${i}`], { lakeCleanAt: '2026-01-05T09:00:00.000Z' }));
    const erased = new Set(['late']);
    expect(await markLakeClean(ledger, 't', erased, '2026-01-05T09:15:00.000Z')).toBe(0);
    await ledger.record(receipt('0190-zzz', ['late']));
    expect(await markLakeClean(ledger, 't', erased, '2026-01-05T09:30:00.000Z')).toBe(1);
    expect((await ledger.find('t', 'late'))?.lakeCleanAt).toBe('2026-01-05T09:30:00.000Z');
  });
});
