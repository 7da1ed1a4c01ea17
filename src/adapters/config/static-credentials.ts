import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator, Principal, Scope } from '../../application/ports/access.port.js';

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

export const DEFAULT_RATE_LIMIT_PER_SECOND = 1_000;

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

type Entry = { readonly digest: Buffer; readonly principal: Principal };

export class StaticAuthenticator implements Authenticator {
  private readonly writeKeys = new Map<string, Entry>();
  private readonly tokens = new Map<string, Entry>();

  constructor(specs: readonly CredentialSpec[]) {
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
