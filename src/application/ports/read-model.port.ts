import type { MatchBookEntry } from '../../domain/matching/match-book.js';
import type { Customer360 } from '../../domain/projection/customer360.js';

/**
 * A projected document per customer id: the cluster's view for a survivor, a pointer for an
 * absorbed customer. The match book (`matchBookNamespace`) keeps its entries in docs of their own
 * kind, under a tenant name no tenant can have, so a tenant's views never list them. `applied` is the last version folded per member stream, so duplicates are
 * skipped and gaps detected; (version, sum of applied) only ever grows for one id.
 */
export type ViewDoc =
  | {
      readonly kind: 'view';
      readonly customerId: string;
      readonly version: number;
      readonly applied: Readonly<Record<string, number>>;
      readonly view: Customer360;
    }
  | {
      readonly kind: 'pointer';
      readonly customerId: string;
      readonly version: number;
      readonly applied: Readonly<Record<string, number>>;
      readonly mergedInto: string;
    }
  | {
      readonly kind: 'match';
      /** the entry's id in the match book: `model`, `c:<customer id>` or `b:<blocking key>` */
      readonly customerId: string;
      readonly version: number;
      readonly applied: Readonly<Record<string, number>>;
      readonly entry: MatchBookEntry;
    };

/** Where a tenant's match book is stored: tenants are lower-case letters, digits and dashes, never a '/'. */
export const matchBookNamespace = (tenant: string): string => `${tenant}/match`;

export const docOrder = (a: Pick<ViewDoc, 'version' | 'applied'>, b: Pick<ViewDoc, 'version' | 'applied'>): number =>
  a.version - b.version || appliedSum(a) - appliedSum(b);

/** What a writer saw before it changed a doc: compare-and-swap against it. */
export type DocStamp = { readonly version: number; readonly appliedSum: number };

export const appliedSum = (d: Pick<ViewDoc, 'applied'>): number => {
  // by its keys, not Object.values: a projected doc's applied is held in dictionary mode (copyIdRecord),
  // where Object.values costs several times as much
  const applied = d.applied;
  const ids = Object.keys(applied);
  let sum = 0;
  for (let i = 0; i < ids.length; i++) sum += applied[ids[i]!]!;
  return sum;
};
export const stampOf = (d: ViewDoc): DocStamp => ({ version: d.version, appliedSum: appliedSum(d) });

/** A rebuild's docs, checked: two docs for one id means the rebuild is broken, and keeping either would hide it. */
export const uniqueDocs = (docs: Iterable<ViewDoc>): ViewDoc[] => {
  const all = [...docs];
  const ids = new Set<string>();
  for (const doc of all) {
    if (ids.has(doc.customerId)) throw new Error(`replaceAll got customer ${doc.customerId} twice`);
    ids.add(doc.customerId);
  }
  return all;
};

export interface ReadModelStore {
  get(tenant: string, customerId: string): Promise<ViewDoc | undefined>;
  /**
   * Without `expected`: writes unless the stored doc is newer (docOrder). With `expected`: writes
   * only if the stored doc is still the one the caller read (null: none stored), so two projectors
   * folding into one doc can never lose each other's updates. Returns false when nothing was written.
   */
  put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean>;
  delete(tenant: string, customerId: string): Promise<void>;
  /** every doc of a tenant, a page at a time */
  list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number },
  ): Promise<{ readonly docs: readonly ViewDoc[]; readonly next?: string | undefined }>;
  /** swaps in a whole new generation at once (rebuilds) */
  replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void>;
}
