import type { EngagementReason, EventOf, RecordedEvent } from '../customer/customer.events.js';
import { compareStrings } from '../shared/compare.js';

// The engagement part of the 360 view: recent decisions to show, and the facts caps and
// suppression are checked against. Like the rest of the view it is a join (top-k under a total
// order, sums, max), so any delivery order and any merge of two views give the same history.

/** Decisions kept for the view and GET /engagements, newest first. */
export const ENGAGEMENT_HISTORY_SIZE = 100;
/** Sends remembered per channel: a frequency cap can be at most this. */
export const SEND_MEMORY = 20;

export type DecisionFact = {
  readonly decisionId: string;
  readonly eventId: string;
  readonly at: number;
  readonly outcome: 'sent' | 'suppressed';
  readonly reason?: EngagementReason;
  readonly offerId?: string;
  readonly offerTitle?: string;
  readonly channel?: string;
  readonly trigger: string;
  readonly triggerEventId: string;
};
export type SendFact = { readonly at: number; readonly eventId: string; readonly offerId: string };

export type EngagementHistory = {
  readonly decisions: readonly DecisionFact[];
  readonly sent: number;
  readonly suppressed: number;
  /** per delivery channel, newest first, at most SEND_MEMORY */
  readonly sends: Readonly<Record<string, readonly SendFact[]>>;
  /** per offer id, the latest send */
  readonly lastSent: Readonly<Record<string, number>>;
};

type Stamped = { readonly at: number; readonly eventId: string };
/** Newest first; ties by event id, descending (as the timeline). */
const newestFirst = (a: Stamped, b: Stamped): number => b.at - a.at || compareStrings(b.eventId, a.eventId);

const insertTop = <T extends Stamped>(list: readonly T[], item: T, size: number): readonly T[] => {
  let i = 0;
  while (i < list.length && newestFirst(list[i]!, item) < 0) i++;
  if (i >= size || list[i]?.eventId === item.eventId) return list;
  return [...list.slice(0, i), item, ...list.slice(i)].slice(0, size);
};

const mergeTop = <T extends Stamped>(a: readonly T[], b: readonly T[], size: number): readonly T[] => {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (out.length < size && (i < a.length || j < b.length)) {
    const next = j >= b.length || (i < a.length && newestFirst(a[i]!, b[j]!) <= 0) ? a[i++]! : b[j++]!;
    if (out.at(-1)?.eventId !== next.eventId) out.push(next);
  }
  return out;
};

const emptyHistory: EngagementHistory = { decisions: [], sent: 0, suppressed: 0, sends: {}, lastSent: {} };

const factOf = (r: RecordedEvent, d: EventOf<'EngagementDecided'>['data']): DecisionFact => ({
  decisionId: d.decisionId,
  eventId: r.eventId,
  at: r.observedAt,
  outcome: d.outcome,
  // no undefined-valued keys: the view is stored as JSON and must compare equal after a round trip
  ...(d.reason !== undefined ? { reason: d.reason } : {}),
  ...(d.offerId !== undefined ? { offerId: d.offerId } : {}),
  ...(d.offerTitle !== undefined ? { offerTitle: d.offerTitle } : {}),
  ...(d.channel !== undefined ? { channel: d.channel } : {}),
  trigger: d.trigger,
  triggerEventId: d.triggerEventId,
});

/** Folds one EngagementDecided into the history. */
export const addDecision = (history: EngagementHistory | undefined, r: RecordedEvent): EngagementHistory => {
  const h = history ?? emptyHistory;
  if (r.event.type !== 'EngagementDecided') return h;
  const d = r.event.data;
  const next: EngagementHistory = {
    ...h,
    decisions: insertTop(h.decisions, factOf(r, d), ENGAGEMENT_HISTORY_SIZE),
    sent: h.sent + (d.outcome === 'sent' ? 1 : 0),
    suppressed: h.suppressed + (d.outcome === 'suppressed' ? 1 : 0),
  };
  if (d.outcome !== 'sent' || d.channel === undefined || d.offerId === undefined) return next;
  const send: SendFact = { at: r.observedAt, eventId: r.eventId, offerId: d.offerId };
  return {
    ...next,
    sends: { ...h.sends, [d.channel]: insertTop(h.sends[d.channel] ?? [], send, SEND_MEMORY) },
    lastSent: { ...h.lastSent, [d.offerId]: Math.max(h.lastSent[d.offerId] ?? r.observedAt, r.observedAt) },
  };
};

const joinRecords = <T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>, pick: (x: T, y: T) => T): Record<string, T> => {
  const out: Record<string, T> = { ...a };
  for (const [k, y] of Object.entries(b)) out[k] = out[k] === undefined ? y : pick(out[k]!, y);
  return out;
};

/** The history of two disjoint sets of decisions (a merge of two views). */
export const joinHistories = (a: EngagementHistory | undefined, b: EngagementHistory | undefined): EngagementHistory | undefined => {
  if (a === undefined || b === undefined) return a ?? b;
  return {
    decisions: mergeTop(a.decisions, b.decisions, ENGAGEMENT_HISTORY_SIZE),
    sent: a.sent + b.sent,
    suppressed: a.suppressed + b.suppressed,
    sends: joinRecords(a.sends, b.sends, (x, y) => mergeTop(x, y, SEND_MEMORY)),
    lastSent: joinRecords(a.lastSent, b.lastSent, Math.max),
  };
};

/** Sends on `channel` within `windowMs` before `now` (a send stamped later than now counts too). */
export const sendsWithin = (history: EngagementHistory | undefined, channel: string, now: number, windowMs: number): number =>
  (history?.sends[channel] ?? []).filter((s) => s.at > now - windowMs).length;

/** Whether `offerId` was sent within `windowMs` before `now`. */
export const sentWithin = (history: EngagementHistory | undefined, offerId: string, now: number, windowMs: number): boolean => {
  const last = history?.lastSent[offerId];
  return last !== undefined && last > now - windowMs;
};
