import type { ErasureLedger } from '../ports/erasure-ledger.port.js';

// Where the lake is written by another process than the erasure (the lake function on AWS), the
// erasure's receipt cannot say when the lake is clean. The lake's writer says it afterwards: once
// every customer of a receipt is among the ids its saved state bars (each purged before that state
// was saved), the receipt gets lakeCleanAt. Every receipt still without it is looked at on each
// run, so one recorded after the run that purged its rows is marked by the next.

/** Marks the tenant's receipts whose customers are all `erased`; returns how many it marked. */
export const markLakeClean = async (ledger: ErasureLedger, tenant: string, erased: ReadonlySet<string>, at: string): Promise<number> => {
  let marked = 0;
  let after: string | undefined;
  do {
    const page = await ledger.list(tenant, { after, limit: 100 });
    for (const r of page.entries)
      if (!r.lakeCleanAt && r.customers.length > 0 && r.customers.every((id) => erased.has(id))) {
        await ledger.markLakeClean(tenant, r.erasureId, at);
        marked++;
      }
    after = page.next;
  } while (after !== undefined);
  return marked;
};
