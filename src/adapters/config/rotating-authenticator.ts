import type { Authenticator, Principal } from '../../application/ports/access.port.js';
import { StaticAuthenticator, type CredentialSpec } from './static-credentials.js';

// Credentials that rotate while the process runs (a Secrets Manager secret): lookups answer from
// the list in hand at once (the port is synchronous), and a lookup made after maxAge starts one
// reload in the background. A key added by a rotation is accepted within maxAge plus the reload;
// a key removed stops working as soon as the reload lands. A failed reload keeps the list in hand
// and is tried again after the next maxAge.

export type RotatingAuthenticatorOptions = {
  readonly reload: () => Promise<readonly CredentialSpec[]>;
  readonly maxAgeMs: number;
  readonly now?: (() => number) | undefined;
  readonly onError?: ((e: unknown) => void) | undefined;
};

export class RotatingAuthenticator implements Authenticator {
  private current: StaticAuthenticator;
  private loadedAt: number;
  private pending: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    initial: readonly CredentialSpec[],
    private readonly options: RotatingAuthenticatorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.current = new StaticAuthenticator(initial);
    this.loadedAt = this.now();
  }

  byWriteKey(writeKey: string): Principal | undefined {
    this.refreshIfStale();
    return this.current.byWriteKey(writeKey);
  }

  byToken(token: string): Principal | undefined {
    this.refreshIfStale();
    return this.current.byToken(token);
  }

  /** the reload in flight, if any (tests, and a caller that wants to wait for it) */
  settled(): Promise<void> {
    return this.pending ?? Promise.resolve();
  }

  private refreshIfStale(): void {
    if (this.pending || this.now() - this.loadedAt < this.options.maxAgeMs) return;
    this.pending = this.options
      .reload()
      .then((specs) => {
        this.current = new StaticAuthenticator(specs);
      })
      .catch((e: unknown) => this.options.onError?.(e))
      .finally(() => {
        this.loadedAt = this.now();
        this.pending = undefined;
      });
  }
}
