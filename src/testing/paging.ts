import type { EventStore, StoredEvent } from '../application/ports/event-store.port.js';
import type { ReadModelStore, ViewDoc } from '../application/ports/read-model.port.js';

// The one way tests page through a cursor API (readAll, list, scan, an HTTP endpoint): follow
// `next` until a page comes without one. A read that never ends (a cursor that does not move, or
// more pages than any test writes) fails loudly instead of hanging the run.

export type Page<T, C = string> = { readonly items: readonly T[]; readonly next?: C | undefined };

export type PagingOptions = {
  /** pages read before giving up; default 10,000 */
  readonly maxPages?: number | undefined;
};

/** Every page of a paged read, in order, as its items (so `.length` is the number of pages read). */
export const pagesOf = async <T, C = string>(read: (after: C | undefined) => Promise<Page<T, C>>, options: PagingOptions = {}): Promise<T[][]> => {
  const maxPages = options.maxPages ?? 10_000;
  const pages: T[][] = [];
  let after: C | undefined;
  const seen = new Set<string>();
  for (;;) {
    if (pages.length >= maxPages) throw new Error(`paging did not end within ${maxPages} pages`);
    const page = await read(after);
    pages.push([...page.items]);
    if (page.next === undefined) return pages;
    const cursor = JSON.stringify(page.next);
    if (seen.has(cursor)) throw new Error(`paging returned the cursor ${cursor} twice: it would never end`);
    seen.add(cursor);
    after = page.next;
  }
};

/** Every item of a paged read, in order. */
export const drain = async <T, C = string>(read: (after: C | undefined) => Promise<Page<T, C>>, options: PagingOptions = {}): Promise<T[]> =>
  (await pagesOf(read, options)).flat();

/** A tenant's whole log, in log order, read `limit` events at a time. */
export const readAllEvents = (store: Pick<EventStore, 'readAll'>, tenant: string, limit = 500): Promise<StoredEvent[]> =>
  drain((after) => store.readAll(tenant, { after, limit }).then((p) => ({ items: p.events, next: p.next })));

/** Every read-model doc of a tenant, in the store's order, read `limit` docs at a time. */
export const listAllViews = (views: Pick<ReadModelStore, 'list'>, tenant: string, limit = 500): Promise<ViewDoc[]> =>
  drain((after) => views.list(tenant, { after, limit }).then((p) => ({ items: p.docs, next: p.next })));

/** A list page of `entries` (quarantine, audit log, erasure ledger) as a Page. */
export const entriesPage = <T>(page: { readonly entries: readonly T[]; readonly next?: string | undefined }): Page<T> => ({
  items: page.entries,
  next: page.next,
});
