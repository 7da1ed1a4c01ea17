// Downstream systems follow identity changes: merges, unmerges and erasures, without personal data.
// Changes are derived from committed events, so the feed is at-least-once like the projection that
// drives it; `id` (the event id behind the change) lets subscribers drop repeats.

export type IdentityChange =
  | {
      readonly id: string;
      readonly tenant: string;
      readonly type: 'merged';
      readonly at: number;
      readonly survivorId: string;
      readonly absorbedId: string;
      readonly mergeId: string;
    }
  | {
      readonly id: string;
      readonly tenant: string;
      readonly type: 'unmerged';
      readonly at: number;
      readonly survivorId: string;
      readonly restoredId: string;
      readonly mergeId: string;
    }
  | { readonly id: string; readonly tenant: string; readonly type: 'erased'; readonly at: number; readonly customerId: string; readonly erasureId: string };

export interface IdentityFeed {
  /** resolves once every change is acknowledged; throws (retryable) otherwise */
  publish(changes: readonly IdentityChange[]): Promise<void>;
}
