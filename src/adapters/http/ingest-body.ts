import type { Context } from 'hono';
import type { Principal } from '../../application/ports/access.port.js';
import type { AppEnv, Gate } from './auth.js';
import { parseJson, readBody, unreadable } from './body.js';
import { HttpError } from './errors.js';
import type { HttpDeps } from './http.deps.js';

// The body of an ingest route (Segment calls, interest capture): auth by header or body writeKey,
// a bounded read (gzip and deflate decoded, the bound on the decoded bytes), JSON of any content
// type (the SDKs send application/json, text/plain from sendBeacon, or a form type with a gzip
// body), at most MAX_JSON_DEPTH deep. Unreadable JSON is kept in the quarantine, then refused.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const receiveIngestBody = async (
  c: Context<AppEnv>,
  deps: Pick<HttpDeps, 'core'>,
  gate: Gate,
  limit: number,
  what: 'call' | 'batch',
): Promise<{ principal: Principal; body: unknown; size: number }> => {
  const address = c.get('clientAddress');
  let principal = gate.ingestByHeader(c.req.header('authorization'), address);
  const read = await readBody(c, limit);
  if (!read.ok) throw unreadable(read, limit, what);
  const parsed = parseJson(read.text);
  const value = parsed.ok || parsed.code === 'NESTING_TOO_DEEP' ? parsed.value : undefined;
  principal ??= gate.ingestByWriteKey(isObject(value) && typeof value.writeKey === 'string' ? value.writeKey : undefined, address);
  c.set('principal', principal);
  if (!parsed.ok) {
    // kept as the text received: a value nested too deep would overflow whatever serializes it next
    const reason = { code: parsed.code, message: parsed.message, issues: parsed.issues };
    const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, read.text, reason);
    throw new HttpError(parsed.code, `${parsed.message}; the body was kept in the quarantine`, parsed.issues, {}, { quarantineId });
  }
  return { principal, body: parsed.value, size: read.size };
};
