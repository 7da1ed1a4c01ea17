import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '../vitest.js';
import type { ErasureLedger, ErasureReceipt } from '../../application/ports/erasure-ledger.port.js';
import { entriesPage, pagesOf } from '../paging.js';

// What every ErasureLedger promises: a receipt is found by any id of the cluster it covered, and
// receipts are recorded once and listed oldest first; a receipt marked lake-clean says so under
// every id, once.

const receipt = (tenant: string, erasureId: string, customers: string[]): ErasureReceipt => ({
  erasureId,
  tenant,
  requestedId: customers[1] ?? customers[0]!,
  customers,
  erasedAt: '2026-01-05T09:00:00.000Z',
  actor: 'dpo',
  removed: { streams: customers.length, dataKeys: customers.length, claims: 4, views: customers.length, snapshots: 0, quarantined: 1 },
});

export const ledgerContract = (name: string, make: () => Promise<ErasureLedger>) =>
  describe(`ErasureLedger: ${name}`, () => {
    it('finds a receipt by any customer id it covers, and only in its tenant', async () => {
      const ledger = await make();
      const t = `t-${randomUUID()}`;
      const r = receipt(t, '0190-a', ['s-1', 'a-1', 'a-2']);
      await ledger.record(r);
      for (const id of r.customers) expect(await ledger.find(t, id)).toEqual(r);
      expect(await ledger.find(t, 'other')).toBeUndefined();
      expect(await ledger.find(`t-${randomUUID()}`, 's-1')).toBeUndefined();
    });

    it('records idempotently by erasureId and lists oldest first, a page at a time', async () => {
      const ledger = await make();
      const t = `t-${randomUUID()}`;
      const rs = ['0190-c', '0190-a', '0190-b', '0190-d', '0190-e'].map((id, i) => receipt(t, id, [`c-${i}`]));
      for (const r of rs) await ledger.record(r);
      await ledger.record(rs[0]!);
      const pages = await pagesOf((after) => ledger.list(t, { after, limit: 2 }).then(entriesPage));
      expect(pages.flat().map((e) => e.erasureId)).toEqual(['0190-a', '0190-b', '0190-c', '0190-d', '0190-e']);
      expect(pages).toHaveLength(3);
      expect((await ledger.list(t, { limit: 5 })).next).toBeUndefined();
    });

    it('keeps the first receipt of an erasureId: recording it again, even with other content, changes nothing', async () => {
      const ledger = await make();
      const t = `t-${randomUUID()}`;
      const first = receipt(t, '0190-f', ['s-1', 'a-1']);
      await ledger.record(first);
      await ledger.record({ ...first, actor: 'someone-else', erasedAt: '2026-02-01T00:00:00.000Z', removed: { ...first.removed, claims: 0 } });
      for (const id of first.customers) expect(await ledger.find(t, id)).toEqual(first);
      expect((await ledger.list(t, { limit: 10 })).entries).toEqual([first]);
    });

    it('marks a receipt lake-clean under every id it covers and in the list, once; an unknown erasure or tenant changes nothing', async () => {
      const ledger = await make();
      const t = `t-${randomUUID()}`;
      const r = receipt(t, '0190-g', ['s-1', 'a-1']);
      await ledger.record(r);
      await ledger.markLakeClean(`t-${randomUUID()}`, r.erasureId, '2026-01-05T09:10:00.000Z');
      await ledger.markLakeClean(t, '0190-nothing', '2026-01-05T09:10:00.000Z');
      expect(await ledger.find(t, 's-1')).toEqual(r);
      expect((await ledger.list(t, { limit: 10 })).entries).toEqual([r]);
      await ledger.markLakeClean(t, r.erasureId, '2026-01-05T09:15:00.000Z');
      await ledger.markLakeClean(t, r.erasureId, '2026-01-05T09:30:00.000Z');
      const clean = { ...r, lakeCleanAt: '2026-01-05T09:15:00.000Z' };
      for (const id of [r.requestedId, ...r.customers]) expect(await ledger.find(t, id)).toEqual(clean);
      expect((await ledger.list(t, { limit: 10 })).entries).toEqual([clean]);
      // recording the erasure again keeps what the ledger holds
      await ledger.record(r);
      expect(await ledger.find(t, 'a-1')).toEqual(clean);
    });
  });
