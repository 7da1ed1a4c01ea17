import { type AnalyticsPosition, type AnalyticsQueryName, KEYED_ANALYTICS } from '../../application/lake/analytics.params.js';
import { HttpError } from './errors.js';

// Cursors are opaque to clients: base64url of a small JSON position. A cursor marks the last item
// a page returned, so inserts ahead of it never repeat or skip items on the next page.

export const encodeCursor = (position: unknown): string => {
  const bytes = new TextEncoder().encode(JSON.stringify(position));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
};

export const decodeCursor = <T>(cursor: string, isValid: (v: unknown) => v is T): T => {
  try {
    const bin = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
    if (isValid(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new HttpError('VALIDATION_FAILED', 'the cursor is not one this API returned; start again without it', [{ path: 'cursor', message: 'invalid cursor' }]);
};

/** A cursor over a store that pages by id (quarantine, audit log): the id of the last item of a page. */
export type IdPosition = { readonly q: string };
export const isIdPosition = (v: unknown): v is IdPosition =>
  typeof v === 'object' && v !== null && typeof (v as IdPosition).q === 'string' && /^[\w.:-]{1,128}$/.test((v as IdPosition).q);

/** An analytics cursor: the last key of a keyed query's page (as other lists' cursors), or the rows of the pages before. */
export const encodeAnalyticsCursor = (p: AnalyticsPosition): string => encodeCursor('key' in p ? { q: p.key } : { o: p.offset });

const isOffset = (v: unknown): v is { o: number } =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as { o: unknown }).o) && (v as { o: number }).o >= 0;

/** The page start a cursor names, of the kind the query pages by: another is 400 naming cursor. */
export const analyticsCursor = (query: string, cursor: string): AnalyticsPosition =>
  KEYED_ANALYTICS[query as AnalyticsQueryName] !== undefined ? { key: decodeCursor(cursor, isIdPosition).q } : { offset: decodeCursor(cursor, isOffset).o };

type TimelineItem = { readonly eventId: string; readonly observedAt?: string | undefined };
type TimelinePosition = { readonly t: string; readonly e: string };

const isPosition = (v: unknown): v is TimelinePosition =>
  typeof v === 'object' && v !== null && typeof (v as TimelinePosition).t === 'string' && typeof (v as TimelinePosition).e === 'string';

/** A page of a newest-first timeline (ordered by observedAt, then eventId, both descending). */
export const pageTimeline = <T extends TimelineItem>(items: readonly T[], limit: number, cursor: string | undefined): { items: T[]; next?: string } => {
  const after = cursor === undefined ? undefined : decodeCursor(cursor, isPosition);
  // ISO-8601 UTC strings of one format compare like the instants they name
  const rest = after ? items.filter((i) => (i.observedAt ?? '') < after.t || ((i.observedAt ?? '') === after.t && i.eventId < after.e)) : [...items];
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return rest.length > limit && last ? { items: page, next: encodeCursor({ t: last.observedAt ?? '', e: last.eventId }) } : { items: page };
};
