import type { AnalyticsPageRequest, AnalyticsPosition } from '../lake/analytics.params.js';

// The analytics lake: a star schema in Parquet projected from the log. Rows carry customer ids and
// readable, non-personal event fields only; the personal section of an event is never read.

export type LakeOrder = {
  readonly eventId: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly channel: string;
  readonly currency: string;
  readonly revenueMinor: number;
  readonly observedAt: number;
};
export type LakeOrderLine = {
  readonly eventId: string;
  readonly lineNo: number;
  readonly orderId: string;
  readonly customerId: string;
  readonly productId: string;
  readonly category?: string | undefined;
  readonly quantity: number;
  readonly priceMinor?: number | undefined;
  readonly currency: string;
  readonly observedAt: number;
};
export type LakeView = {
  readonly eventId: string;
  readonly customerId: string;
  readonly kind: 'page' | 'screen';
  readonly name?: string | undefined;
  readonly category?: string | undefined;
  readonly channel: string;
  readonly observedAt: number;
};
export type LakeProductEvent = {
  readonly eventId: string;
  readonly customerId: string;
  readonly productId: string;
  readonly category?: string | undefined;
  readonly action: string;
  readonly channel: string;
  readonly observedAt: number;
};
export type LakeTrackedEvent = {
  readonly eventId: string;
  readonly customerId: string;
  readonly event: string;
  readonly channel: string;
  readonly observedAt: number;
};
export type LakeDecision = {
  readonly eventId: string;
  readonly decisionId: string;
  readonly customerId: string;
  readonly trigger: string;
  readonly outcome: string;
  readonly reason?: string | undefined;
  readonly offerId?: string | undefined;
  readonly channel?: string | undefined;
  readonly observedAt: number;
};
/** a customer seen at a city/region/country (never coordinates or an IP) */
export type LakeLocation = {
  readonly eventId: string;
  readonly customerId: string;
  readonly country?: string | undefined;
  readonly region?: string | undefined;
  readonly city?: string | undefined;
  readonly observedAt: number;
};
export type LakeProduct = {
  readonly productId: string;
  readonly name?: string | undefined;
  readonly category?: string | undefined;
  readonly observedAt: number;
};

/** What one event (or a batch) changes about a customer id: activity span, merges, unmerges, erasure. */
export type LakeCustomerChange =
  | { readonly kind: 'seen'; readonly customerId: string; readonly firstSeenAt: number; readonly lastSeenAt: number }
  | { readonly kind: 'merged'; readonly customerId: string; readonly into: string }
  | { readonly kind: 'restored'; readonly customerId: string }
  /**
   * an unmerge gives these events back to the absorbed customer (`customerId`): their originals, in
   * the survivor's stream, count no more (the copies in the absorbed customer's stream do, as in
   * the 360 view), so their rows leave the lake
   */
  | { readonly kind: 'reassigned'; readonly customerId: string; readonly eventIds: readonly string[] }
  | { readonly kind: 'erased'; readonly customerId: string };

export type LakeBatch = {
  readonly orders: LakeOrder[];
  readonly orderLines: LakeOrderLine[];
  readonly views: LakeView[];
  readonly productEvents: LakeProductEvent[];
  readonly trackedEvents: LakeTrackedEvent[];
  readonly decisions: LakeDecision[];
  readonly locations: LakeLocation[];
  readonly products: LakeProduct[];
  readonly customers: LakeCustomerChange[];
};

export const emptyLakeBatch = (): LakeBatch => ({
  orders: [],
  orderLines: [],
  views: [],
  productEvents: [],
  trackedEvents: [],
  decisions: [],
  locations: [],
  products: [],
  customers: [],
});

export interface LakeWriter {
  /** the log position the tenant's lake holds everything up to */
  checkpoint(tenant: string): Promise<string | undefined>;
  /** buffers a batch and the position it reaches; nothing is on disk before flush */
  write(tenant: string, batch: LakeBatch, position: string | undefined): Promise<void>;
  /** writes the buffered rows (rows already there are skipped by key), then moves the checkpoint */
  flush(tenant: string): Promise<void>;
  /** drops the tenant's tables and checkpoint (a rebuild); the erased ids are kept */
  reset(tenant: string): Promise<void>;
  /**
   * the log the tenant's checkpoint is a position of, as setFollows recorded it (undefined: none
   * recorded, such as a lake written before it was, or reset since). A writer without it cannot
   * tell, and its projector does not ask.
   */
  follows?(tenant: string): Promise<string | undefined>;
  setFollows?(tenant: string, log: string): Promise<void>;
}

/** Erasure's way into the lake: afterwards no file holds a row of these ids, and none ever will. */
export interface LakeEraser {
  /**
   * cleanAt: done here. cleanWithinMs: another process writes the lake on a schedule, its projector
   * drops the rows at the tombstone within that long (and marks the receipt clean). undefined:
   * another process writes it, with no bound known here.
   */
  erase(
    tenant: string,
    customerIds: readonly string[],
  ): Promise<{ readonly cleanAt: number; readonly filesRewritten: number } | { readonly cleanWithinMs: number } | undefined>;
}

/** A lake writer's own erasure: done when it answers (a LakeEraser too). */
export interface LakeCleaner {
  erase(tenant: string, customerIds: readonly string[]): Promise<{ readonly cleanAt: number; readonly filesRewritten: number }>;
  /** the erased ids whose rows no file of the tenant holds any more (an erasure in progress or buffered is not named) */
  erasedIds(tenant: string): Promise<ReadonlySet<string>>;
}

export type AnalyticsRow = Readonly<Record<string, string | number | boolean | null>>;

export interface AnalyticsQueries {
  /** the query names, in their documented order */
  readonly names: readonly string[];
  /** the currency revenue is counted in when a query is given none */
  readonly currency?: string | undefined;
  /** runs one named query over the tenant's lake, every row at once (tests, small lakes); throws a coded error naming a bad parameter */
  run(tenant: string, name: string, params: Readonly<Record<string, string | undefined>>): Promise<readonly AnalyticsRow[]>;
  /** one page of the query's rows (at most `limit`), and where the next starts when more follow: the rows beyond it are never read out */
  page(tenant: string, name: string, params: Readonly<Record<string, string | undefined>>, page: AnalyticsPageRequest): Promise<AnalyticsPage>;
  /** every row of the query, a chunk at a time, in the query's order: never every row in memory at once */
  chunks(tenant: string, name: string, params: Readonly<Record<string, string | undefined>>): AsyncIterable<readonly AnalyticsRow[]>;
}

export type AnalyticsPage = { readonly rows: readonly AnalyticsRow[]; readonly next?: AnalyticsPosition | undefined };
