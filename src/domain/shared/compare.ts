// Total orders used by every order-independent fold: ties are always broken by a stable id.
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Last-writer-wins stamp: (observedAt, source priority, event id), compared lexicographically. */
export type LwwStamp = { readonly observedAt: number; readonly sourcePriority: number; readonly eventId: string };

export const compareStamps = (a: LwwStamp, b: LwwStamp): number =>
  a.observedAt - b.observedAt || a.sourcePriority - b.sourcePriority || compareStrings(a.eventId, b.eventId);
