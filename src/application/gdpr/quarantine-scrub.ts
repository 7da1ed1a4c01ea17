import { DomainError } from '../../domain/shared/errors.js';
import { KNOWN_IDENTIFIER_TYPES, normalizeIdentifierType, tryNormalizeIdentifier } from '../../domain/identity/identifier.js';
import type { CorePorts } from '../deps.js';
import type { QuarantineEntry, QuarantineRewrite } from '../ports/quarantine.port.js';
import { refusedBatchCalls } from '../ingest/refused-batch.js';

// Quarantined raw payloads that name an erased customer go too, whole (names and addresses in
// them with the identifiers). No value is compared in the clear: identifiers are normalized as
// ingest would, keyed with the tenant's claim hash and compared with the cluster's claim keys.
// Two ways to match an entry: the keys recorded when it was quarantined (matchKeys: every
// identifier-shaped token of the raw body, parsed or not: email-like and phone-like tokens and the
// quoted values of id fields, up to MAX_MATCH_KEYS), and, for entries recorded before those keys
// existed or with more tokens than their keys hold (a batch's refused calls, the 64 KB excerpt of
// a body refused unparsed), the payload itself at erasure: every string of a body that parses,
// tried as each of the cluster's identifier types, and every identifier-shaped token of its text
// (a body that does not parse, a long string such as an excerpt's text), with no cap.

/** strings of a body hashed into its match keys when it is quarantined (with every type: bounded) */
const MAX_STRINGS = 2_000;
/**
 * strings of a body tried against a cluster's identifiers at erasure: every one of any body the
 * edge admits (a 500 KB batch holds fewer), so an entry keeping a whole batch's refused calls is
 * matched by its last call too, past what its recorded keys could hold
 */
const ERASURE_MAX_STRINGS = 250_000;
const MAX_LENGTH = 320;

const stringsOf = (payload: unknown, max = MAX_STRINGS): string[] => {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (out.length >= max || depth > 32) return;
    if (typeof v === 'string') {
      if (v.length <= MAX_LENGTH) out.push(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(payload, 0);
  return out;
};

const parsed = (payload: unknown): unknown => {
  if (typeof payload !== 'string') return payload;
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
};

export type ScrubTarget = {
  readonly keys: ReadonlySet<string>;
  readonly types: ReadonlySet<string>;
  readonly erasureId: string;
  /**
   * only entries received at or before this time (ms): a re-applied erasure's, so that the calls
   * of a new customer who took up an erased identifier afterwards are not taken for the erased one's
   */
  readonly receivedBy?: number | undefined;
};

/** Whether a quarantined payload carries one of the target's identifiers (by claim key). */
export const namesCluster = (ports: Pick<CorePorts, 'hasher' | 'settings'>, tenant: string, payload: unknown, target: ScrubTarget): boolean => {
  if (target.keys.size === 0) return false;
  const region = ports.settings.phoneRegion(tenant);
  const isTargets = (type: string, value: string): boolean => {
    // not a valid identifier of this type: it cannot be one of the cluster's
    const r = tryNormalizeIdentifier(type, value, { defaultRegion: region, storedEmails: true });
    return r.ok && target.keys.has(ports.hasher.claimKey(tenant, r.id.type, r.id.value));
  };
  const body = parsed(payload);
  if (body !== undefined)
    for (const s of stringsOf(body, ERASURE_MAX_STRINGS)) {
      for (const type of target.types) if (isTargets(type, s)) return true;
      // an email percent-encoded in a URL (entries recorded before their keys held it)
      if (s.includes('%40') && someToken(s, [], isTargets)) return true;
    }
  // the text of a body that does not parse, or too long to be one identifier (an excerpt's text:
  // a batch cut at 64 KB holds more identifiers than its recorded keys), scanned token by token
  const texts = typeof payload === 'string' ? [payload] : longStrings(body ?? payload);
  return texts.some((text) => someToken(text, target.types, isTargets));
};

/** enough for a whole 500-call batch body; the token kinds come first, the parsed strings after */
const MAX_MATCH_KEYS = 2_048;
const EMAIL_LIKE = /[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+/g;
/** an email percent-encoded in a URL or a form body (`ada%40example.com`), decoded before it is tried */
const ENCODED_EMAIL_LIKE = /[A-Za-z0-9._%+'-]{1,64}%40[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+/gi;
const PHONE_LIKE = /\+?\(?\d[\d\s().-]{5,24}\d/g;
/** a (possibly quoted) field whose name ends in id, email or phone, with a quoted value */
const ID_FIELD = /["']?([A-Za-z_]{0,40}(?:id|Id|ID|email|Email|phone|Phone))["']?\s*[:=]\s*"((?:[^"\\\n]|\\.){1,320})"/g;
/** identifier types named in the body (Segment context.externalIds[].type) */
const TYPE_FIELD = /"type"\s*:\s*"([A-Za-z][A-Za-z0-9_ -]{0,39})"/g;

const unquote = (raw: string): string => {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
};

const percentDecoded = (token: string): string | undefined => {
  try {
    return decodeURIComponent(token);
  } catch {
    return undefined;
  }
};

/** the strings of a payload too long to be one identifier (a text), at most 4 levels down */
const longStrings = (payload: unknown): string[] => {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (v.length > MAX_LENGTH) out.push(v);
    } else if (depth < 4 && v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(payload, 0);
  return out;
};

/**
 * Calls `visit` with every identifier-shaped token of a text as (type, value): email-like and
 * phone-like tokens, and the value of each id field once per type of `types`; stops at the first
 * for which it answers true (and says so).
 */
const someToken = (text: string, types: Iterable<string>, visit: (type: string, value: string) => boolean): boolean => {
  for (const m of text.matchAll(EMAIL_LIKE)) {
    if (visit('email', m[0])) return true;
    // an apostrophe or dot before it may be the text's quoting rather than part of the address
    const trimmed = m[0].replace(/^['._%+-]+/, '');
    if (trimmed !== m[0] && visit('email', trimmed)) return true;
  }
  for (const m of text.matchAll(ENCODED_EMAIL_LIKE)) {
    const decoded = percentDecoded(m[0]);
    if (decoded !== undefined && visit('email', decoded)) return true;
  }
  for (const m of text.matchAll(PHONE_LIKE)) if (visit('phone', m[0])) return true;
  for (const m of text.matchAll(ID_FIELD)) {
    const value = unquote(m[2]!);
    for (const type of types) if (visit(type, value)) return true;
  }
  return false;
};

/**
 * The claim keys of every identifier-shaped token in a raw payload, recorded with the entry when
 * it is quarantined so that an erasure finds it even when the body does not parse.
 */
export const quarantineMatchKeys = (ports: Pick<CorePorts, 'hasher' | 'settings'>, tenant: string, raw: unknown): string[] => {
  // a long string of a parsed payload is scanned as text too (the excerpt of a body refused before it
  // was parsed is kept as one): in the payload's JSON its quotes are escaped and its id fields hidden
  const text = typeof raw === 'string' ? raw : [JSON.stringify(raw) ?? '', ...longStrings(raw)].join('\n');
  const region = ports.settings.phoneRegion(tenant);
  const keys = new Set<string>();
  // the same value is often found twice (an email token is also a string of the parsed body)
  const tried = new Set<string>();
  const add = (type: string, value: string): void => {
    if (keys.size >= MAX_MATCH_KEYS) return;
    const attempt = `${type}\u0000${value}`;
    if (tried.has(attempt)) return;
    tried.add(attempt);
    const r = tryNormalizeIdentifier(type, value, { defaultRegion: region, storedEmails: true });
    if (r.ok && r.id.value !== '') keys.add(ports.hasher.claimKey(tenant, r.id.type, r.id.value));
  };
  const types = new Set<string>(KNOWN_IDENTIFIER_TYPES);
  for (const m of text.matchAll(TYPE_FIELD)) {
    try {
      types.add(normalizeIdentifierType(m[1]!));
    } catch {
      // not an identifier type
    }
  }
  someToken(text, types, (type, value) => {
    add(type, value);
    return keys.size >= MAX_MATCH_KEYS;
  });
  const body = parsed(raw);
  if (body !== undefined) for (const value of stringsOf(body)) for (const type of types) add(type, value);
  // a set: sorted, so every store hands back the same list (DynamoDB keeps it as a string set)
  return [...keys].sort();
};

/** Whether a quarantine entry names one of the target's identifiers: by its recorded keys, or by its parsed body. */
export const entryNamesCluster = (ports: Pick<CorePorts, 'hasher' | 'settings'>, tenant: string, entry: QuarantineEntry, target: ScrubTarget): boolean =>
  (entry.matchKeys?.some((k) => target.keys.has(k)) ?? false) || namesCluster(ports, tenant, entry.payload, target);

/**
 * Whether one call of an entry holding several (a batch's) names the target, the two ways an entry
 * is matched: the keys its text would have recorded, and its strings.
 */
export const callNamesCluster = (ports: Pick<CorePorts, 'hasher' | 'settings'>, tenant: string, call: unknown, target: ScrubTarget): boolean =>
  target.keys.size > 0 && (quarantineMatchKeys(ports, tenant, call).some((k) => target.keys.has(k)) || namesCluster(ports, tenant, call, target));

/** An entry whose payload this process cannot read now (its key's master key is not in the keyring), so only its recorded keys were compared. */
export const unsearchable = (e: QuarantineEntry): boolean => e.payloadUnavailable === 'key-unreadable';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const BATCH_PATH = /^batch\[(\d+)\]/;

/**
 * An entry keeping several people's calls (a batch's refused calls, refused-batch.ts, or a whole
 * batch body refused for its number of calls), split by the target: which of its calls name the
 * target, each matched alone (callNamesCluster), and the entry keeping only some of them (`keep`:
 * whether to keep each call): the batch's shared fields, the kept calls, their `refused` records
 * and the issues about them. Undefined for an entry that keeps no batch of calls (a single call, a
 * text) or cannot be read. The export keeps the target's calls; an erasure the others'.
 *
 * A batch's refused calls keep their index in the request (`byRequestIndex`): `refused[].index`
 * and the issue paths (`batch[<index>]`) name each call as the request's answer named it, not by
 * its place in the entry's `batch` (which holds only the refused calls, in request order, each
 * described by the `refused` record at the same place). A replay ingests each call at that index:
 * a call sent without messageId or timestamp is known by it (derivedMessageId), so a call an
 * earlier replay took in answers as a duplicate rather than going in twice. A whole body's kept
 * calls move up instead, and so do their issue paths: nothing refers to their places in it.
 */
export const splitBatchEntry = (
  ports: Pick<CorePorts, 'hasher' | 'settings'>,
  tenant: string,
  e: QuarantineEntry,
  target: ScrubTarget,
):
  | {
      readonly targets: readonly boolean[];
      /** whether the calls keep their index in the request (a batch's refused calls) rather than move up (a whole body) */
      readonly byRequestIndex: boolean;
      readonly keeping: (keep: readonly boolean[]) => { reason: QuarantineEntry['reason']; payload: Json };
    }
  | undefined => {
  const payload = e.payload;
  if (e.payloadUnavailable !== undefined || !isObject(payload) || !Array.isArray(payload.batch)) return undefined;
  const held = refusedBatchCalls(e.reason, payload);
  // a refused-batch entry names its calls by their index in the request; a whole body by their place in it
  const calls = held ? held.calls : payload.batch.map((call: unknown, index) => ({ index, call }));
  const { batch: _calls, refused, ...shared } = payload;
  return {
    targets: calls.map((c) => callNamesCluster(ports, tenant, c.call, target)),
    byRequestIndex: held !== undefined,
    keeping: (keep) => {
      const kept = calls.filter((_, i) => keep[i]);
      const dropped = new Set(calls.filter((_, i) => !keep[i]).map((c) => c.index));
      const moved = new Map(kept.map((c, i) => [c.index, i]));
      const issues = e.reason.issues.flatMap((issue) => {
        const m = BATCH_PATH.exec(issue.path);
        if (!m) return [issue];
        const index = Number(m[1]);
        if (dropped.has(index)) return [];
        return held ? [issue] : [{ ...issue, path: issue.path.replace(BATCH_PATH, `batch[${moved.get(index) ?? index}]`) }];
      });
      return {
        reason: { ...e.reason, issues },
        payload: {
          ...shared,
          batch: kept.map((c) => c.call),
          ...(refused === undefined ? {} : { refused: held && Array.isArray(refused) ? refused.filter((_, i) => keep[i]) : refused }),
        },
      };
    },
  };
};

/**
 * What an erasure leaves of an entry keeping several people's calls (splitBatchEntry): the entry
 * without the calls that name the target. Undefined when the entry goes whole, as any other entry
 * naming the target does: it keeps no batch of calls (a single call, the excerpt or text of a body
 * that never parsed), its payload cannot be read, no call names the target alone (the batch's
 * shared fields do), every call does, or what is left still names the target (its shared context).
 */
export const withoutTargetsCalls = (
  ports: Pick<CorePorts, 'hasher' | 'settings'>,
  tenant: string,
  e: QuarantineEntry,
  target: ScrubTarget,
): { readonly change: Omit<QuarantineRewrite, 'ifReason'>; readonly callsRemoved: number } | undefined => {
  const split = splitBatchEntry(ports, tenant, e, target);
  const callsRemoved = split?.targets.filter(Boolean).length ?? 0;
  if (!split || callsRemoved === 0 || callsRemoved === split.targets.length) return undefined;
  const { reason, payload } = split.keeping(split.targets.map((t) => !t));
  const matchKeys = quarantineMatchKeys(ports, tenant, payload);
  // the shared context (or a call matched only with the others) still names the target: the entry goes whole
  if (matchKeys.some((k) => target.keys.has(k)) || namesCluster(ports, tenant, payload, target)) return undefined;
  // said in the entry: an operator reading it matches each issue to the call it is about
  const note = split.byRequestIndex
    ? `${plural(callsRemoved)} taken out by an erasure; the calls left keep their index in the request, in "refused" and in the issue paths`
    : `${plural(callsRemoved)} taken out by an erasure; the calls after them moved up, their issue paths with them`;
  return { change: { reason: { ...reason, message: `${reason.message} (${note})` }, payload, matchKeys }, callsRemoved };
};

const plural = (n: number): string => (n === 1 ? '1 of its calls was' : `${n} of its calls were`);

/** rewrites of one entry tried before an erasure gives up (another erasure rewrote it each time in between) */
const MAX_REWRITE_ATTEMPTS = 10;
/** a pause of up to 5, 10, 20 ... 200 ms (random: erasures of one batch entry racing each other draw apart) */
const rewritePause = (attempt: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** (attempt - 1))));

export type ScrubResult = {
  /** entries deleted whole */
  readonly removed: number;
  /** entries kept for other people's calls, the target's calls taken out of them (withoutTargetsCalls) */
  readonly rewritten: number;
  /** the calls taken out of those entries */
  readonly callsRemoved: number;
  /**
   * the ids of entries matched by their recorded keys only: payloads under a key the keyring cannot
   * open now (`c360 erasures reapply` with the whole keyring searches them again)
   */
  readonly unsearched: readonly string[];
};

/**
 * Removes the target's data from the matching entries (received by target.receivedBy when set): an
 * entry keeping other people's calls too is rewritten without the target's (same id, the others'
 * calls, reasons and issues), any other is deleted whole. Idempotent, and safe to run again after a
 * crash: a rewritten entry no longer names the target, and the rewrite of the same entry is the same.
 */
export const scrubQuarantine = async (ports: CorePorts, tenant: string, target: ScrubTarget): Promise<ScrubResult> => {
  const matches: QuarantineEntry[] = [];
  const unsearched: string[] = [];
  let after: string | undefined;
  do {
    const page = await ports.quarantine.list(tenant, { after, limit: 200 });
    for (const e of page.entries) {
      if (target.receivedBy !== undefined && e.receivedAt > target.receivedBy) continue;
      if (entryNamesCluster(ports, tenant, e, target)) matches.push(e);
      else if (unsearchable(e)) unsearched.push(e.id);
    }
    after = page.next;
  } while (after !== undefined);
  let removed = 0;
  let rewritten = 0;
  let callsRemoved = 0;
  for (const listed of matches) {
    let e: QuarantineEntry | undefined = listed;
    for (let attempt = 1; e !== undefined; attempt++) {
      const cut = withoutTargetsCalls(ports, tenant, e, target);
      if (!cut) {
        // nothing of anyone else in it (a stale read can only show more of others than is left)
        await ports.quarantine.delete(tenant, e.id);
        removed++;
        break;
      }
      // only over the entry as read: another erasure rewriting it at the same time must not get its
      // calls put back by this rewrite (nor this one's by it)
      if (await ports.quarantine.rewrite(tenant, e.id, { ...cut.change, ifReason: e.reason })) {
        rewritten++;
        callsRemoved += cut.callsRemoved;
        break;
      }
      // a conflict to retry (409), not a failure: nothing is lost, no receipt was recorded, and a
      // new run of the erasure finishes it
      if (attempt >= MAX_REWRITE_ATTEMPTS)
        throw new DomainError('CONCURRENCY_CONFLICT', `quarantine entry ${e.id} kept changing under other erasures; run the erasure again`, [], {
          quarantineId: e.id,
        });
      await rewritePause(attempt);
      // changed since it was read, or gone (expired, deleted by another erasure): read it again
      const now: QuarantineEntry | undefined = await ports.quarantine.get(tenant, e.id);
      e = now && entryNamesCluster(ports, tenant, now, target) ? now : undefined;
    }
  }
  return { removed, rewritten, callsRemoved, unsearched };
};
