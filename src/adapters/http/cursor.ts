import { createHash } from 'node:crypto';
import { type AnalyticsPosition, type AnalyticsQueryName, KEYED_ANALYTICS } from '../../application/lake/analytics.params.js';
import { HttpError } from './errors.js';

// Cursors are opaque to clients: base64url of a small JSON position, a dot, and a check of that
// position (the first 96 bits of a SHA-256 over a label of ours and the position's JSON). A cursor
// marks the last item a page returned, so inserts ahead of it never repeat or skip items on the
// next page. The check makes a cursor the API did not hand out (made up, edited, cut short, another
// API's) a 400 naming cursor, rather than a position taken on trust. It is an integrity check, not
// a secret: a cursor only positions a list the credential may read in full anyway.

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** the check of a position's JSON text */
const checkOf = (json: string): string => base64url(createHash('sha256').update('c360-cursor\u0000').update(json).digest().subarray(0, 12));

export const encodeCursor = (position: unknown): string => {
  const json = JSON.stringify(position);
  return `${base64url(Buffer.from(json, 'utf8'))}.${checkOf(json)}`;
};

const refused = (): HttpError =>
  new HttpError('VALIDATION_FAILED', 'the cursor is not one this API returned; start again without it', [{ path: 'cursor', message: 'invalid cursor' }]);

export const decodeCursor = <T>(cursor: string, isValid: (v: unknown) => v is T): T => {
  const dot = cursor.lastIndexOf('.');
  if (dot < 0 || !/^[\w-]+$/.test(cursor.slice(0, dot))) throw refused();
  try {
    const json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor.slice(0, dot), 'base64url'));
    if (checkOf(json) !== cursor.slice(dot + 1)) throw refused();
    const value: unknown = JSON.parse(json);
    if (isValid(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw refused();
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
