import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Hasher } from '../../application/ports/keys.port.js';

/** Claim keys are HMAC-SHA256(tenant secret, `${type}\0${value}`), base64url; NUL never occurs in a type. */
export class HmacHasher implements Hasher {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly secretFor: (tenant: string) => Buffer | string) {}

  claimKey(tenant: string, type: string, normalizedValue: string): string {
    return createHmac('sha256', this.keyFor(tenant)).update(`${type}\u0000${normalizedValue}`, 'utf8').digest('base64url');
  }

  digest(text: string): string {
    return createHash('sha256').update(text, 'utf8').digest('base64url');
  }

  private keyFor(tenant: string): KeyObject {
    let key = this.keys.get(tenant);
    if (!key) {
      const secret = this.secretFor(tenant);
      // An empty secret would make claim keys a plain hash anyone can recompute from an email.
      if (secret.length === 0) throw new Error(`no HMAC secret configured for tenant ${tenant}`);
      key = createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
      this.keys.set(tenant, key);
    }
    return key;
  }
}
