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

/** The header that names the source of the calls (its priority and channel), instead of the credential's own. */
export const SOURCE_HEADER = 'C360-Source';
const SOURCE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A credential with the admin scope (trusted with every scope) may say which source its calls come
 * from: `c360 seed --url` sends each source's calls as that source, as a seed into the store does.
 * A write key's calls always count as its own source: a key handed to a browser must not claim the
 * priority of the CRM.
 */
const sourced = (principal: Principal, header: string | undefined): Principal => {
  if (header === undefined) return principal;
  const issues = [{ path: SOURCE_HEADER, message: 'a source name: letters, digits, _ . -, at most 64' }];
  if (!principal.scopes.has('admin'))
    throw new HttpError(
      'FORBIDDEN',
      `only a credential with the admin scope may name the source (${SOURCE_HEADER}); calls under ${principal.id} count as its own source`,
      [{ path: SOURCE_HEADER, message: 'needs the admin scope' }],
    );
  if (!SOURCE_NAME.test(header)) throw new HttpError('VALIDATION_FAILED', `${SOURCE_HEADER} must name a source (e.g. crm)`, issues);
  return { ...principal, source: header };
};

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
  principal = sourced(principal, c.req.header(SOURCE_HEADER));
  c.set('principal', principal);
  if (!parsed.ok) {
    // kept as the text received: a value nested too deep would overflow whatever serializes it next
    const reason = { code: parsed.code, message: parsed.message, issues: parsed.issues };
    const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, read.text, reason);
    throw new HttpError(parsed.code, `${parsed.message}; the body was kept in the quarantine`, parsed.issues, {}, { quarantineId });
  }
  return { principal, body: parsed.value, size: read.size };
};
