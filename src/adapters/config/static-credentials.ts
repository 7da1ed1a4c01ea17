import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { SCOPES, type Authenticator, type Principal, type Scope } from '../../application/ports/access.port.js';

// Credentials from configuration. Secrets are kept only as SHA-256 digests and compared in
// constant time, so neither a heap dump nor response timing gives a key away.

export type CredentialSpec = {
  readonly id: string;
  readonly tenant: string;
  readonly kind: 'writeKey' | 'token';
  readonly secret: string;
  readonly scopes: readonly Scope[];
  readonly source?: string | undefined;
  readonly rateLimitPerSecond?: number | undefined;
};

/**
 * Calls a second per credential, each call of a batch counted, when neither the credential nor
 * C360_RATE_LIMIT_PER_SECOND says otherwise. A write key is a source that every client of it shares
 * (each browser of a site sends with the site's key), and the operator's own jobs (`c360 seed --url`,
 * `c360 import --url`) send with one credential. So the default sits above what one server process
 * commits (the README's benchmarks: a few thousand calls/s on the embedded store), where 1,000 held
 * a busy source, and those jobs, below what the store could take. A lower limit per credential, to
 * keep one source from crowding out the others, is the credentials file's `rateLimitPerSecond`.
 */
export const DEFAULT_RATE_LIMIT_PER_SECOND = 10_000;

const Tenant = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

/** One credential as a credentials file, a credentials secret or `createApiFunction` gives it. */
export const CredentialSchema = z.object({
  id: z.string().min(1).max(64),
  tenant: Tenant,
  kind: z.enum(['writeKey', 'token']),
  secret: z.string().min(16, 'must hold at least 16 characters'),
  scopes: z.array(z.enum(SCOPES)).min(1),
  source: z.string().min(1).optional(),
  rateLimitPerSecond: z.number().positive().optional(),
});

/**
 * The first credential whose secret an earlier one already has, as [earlier id, later id]. A
 * secret names one credential: two with the same secret would be one key, and every call made
 * with it would land in whichever tenant was listed last.
 */
export const sharedSecret = (
  specs: readonly Pick<CredentialSpec, 'id' | 'secret'>[],
): { readonly first: string; readonly second: string; readonly index: number } | undefined => {
  const seen = new Map<string, string>();
  for (const [index, s] of specs.entries()) {
    const first = seen.get(s.secret);
    if (first !== undefined) return { first, second: s.id, index };
    seen.set(s.secret, s.id);
  }
  return undefined;
};

const sharedSecretMessage = (first: string, second: string): string =>
  `credentials ${first} and ${second} have the same secret: each credential needs its own (a shared one is one key, taken for whichever was listed last)`;

/** A list of credentials: each valid, no id and no secret twice. Issues' paths start at the list (`1.secret`). */
export const CredentialListSchema = z.array(CredentialSchema).superRefine((list, ctx) => {
  const ids = new Set<string>();
  for (const [i, c] of list.entries()) {
    if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `credential id ${c.id} appears twice` });
    ids.add(c.id);
  }
  const shared = sharedSecret(list);
  if (shared) ctx.addIssue({ code: 'custom', path: [shared.index, 'secret'], message: sharedSecretMessage(shared.first, shared.second) });
});

/** `credentials` checked as the server checks a credentials file; the first problem as `credentials.<index>.<field>: <message>`. */
export const checkCredentials = (credentials: unknown): CredentialSpec[] => {
  const parsed = CredentialListSchema.safeParse(credentials, { jitless: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new TypeError(`${['credentials', ...issue.path].join('.')}: ${issue.message}`);
};

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

type Entry = { readonly digest: Buffer; readonly principal: Principal };

export class StaticAuthenticator implements Authenticator {
  private readonly writeKeys = new Map<string, Entry>();
  private readonly tokens = new Map<string, Entry>();

  constructor(specs: readonly CredentialSpec[]) {
    const shared = sharedSecret(specs);
    if (shared) throw new TypeError(sharedSecretMessage(shared.first, shared.second));
    for (const s of specs) {
      const principal: Principal = {
        id: s.id,
        tenant: s.tenant,
        scopes: new Set(s.scopes),
        source: s.source ?? (s.kind === 'writeKey' ? 'web' : 'api'),
        rateLimitPerSecond: s.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND,
      };
      const d = digest(s.secret);
      const map = s.kind === 'writeKey' ? this.writeKeys : this.tokens;
      // looked up by digest; the constant-time compare guards against a (theoretical) map-timing leak
      map.set(d.toString('base64'), { digest: d, principal });
    }
  }

  byWriteKey(writeKey: string): Principal | undefined {
    return this.find(this.writeKeys, writeKey);
  }

  byToken(token: string): Principal | undefined {
    return this.find(this.tokens, token);
  }

  private find(map: Map<string, Entry>, secret: string): Principal | undefined {
    if (!secret) return undefined;
    const d = digest(secret);
    const entry = map.get(d.toString('base64'));
    return entry && timingSafeEqual(entry.digest, d) ? entry.principal : undefined;
  }
}
