import type { Customer360 } from '../../domain/projection/customer360.js';

/**
 * A projected document per customer id: the cluster's view for a survivor, a pointer for an
 * absorbed customer. `applied` is the last version folded per member stream, so duplicates are
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
  | { readonly kind: 'pointer'; readonly customerId: string; readonly version: number; readonly applied: Readonly<Record<string, number>>; readonly mergedInto: string };

export const docOrder = (a: Pick<ViewDoc, 'version' | 'applied'>, b: Pick<ViewDoc, 'version' | 'applied'>): number => {
  const sum = (d: Pick<ViewDoc, 'applied'>) => Object.values(d.applied).reduce((x, y) => x + y, 0);
  return a.version - b.version || sum(a) - sum(b);
};

export interface ReadModelStore {
  get(tenant: string, customerId: string): Promise<ViewDoc | undefined>;
  /** writes unless the stored doc is newer (docOrder); returns false when it was stale */
  put(tenant: string, doc: ViewDoc): Promise<boolean>;
  delete(tenant: string, customerId: string): Promise<void>;
  /** every doc of a tenant, a page at a time */
  list(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }): Promise<{ readonly docs: readonly ViewDoc[]; readonly next?: string | undefined }>;
  /** swaps in a whole new generation at once (rebuilds) */
  replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void>;
}
