import { gunzipSync, gzipSync } from 'node:zlib';
import { standInKeyId, type Cipher, type DataKey, type KeyStore } from '../../application/ports/keys.port.js';
import {
  quarantinePayloadJson,
  type Quarantine,
  type QuarantineEntry,
  type QuarantinePage,
  type QuarantineRewrite,
} from '../../application/ports/quarantine.port.js';
import { MasterKeyError } from './master-key.js';

// Quarantined raw payloads hold personal data as sent (emails, names, IPs), so whatever store
// keeps them sees only ciphertext: AES-256-GCM under a per-tenant quarantine data key from the key
// store (the same wrapping under the master key as customers' keys), bound by the AAD to the
// tenant and entry id, so a payload copied onto another entry does not open. The reason stays
// readable: codes, field paths and schema messages, never the values themselves.
// Destroying a tenant's quarantine key shreds every payload held under it at once: they read as
// null with `payloadUnavailable: 'key-destroyed'`, never as a crash. The key store refuses to
// recreate a destroyed key, so later puts fail loudly until a new key id is configured; each
// payload names its key id, so entries under the old and the new key read side by side.
// A quarantine key wrapped by a master key this process's keyring lacks (the master key changed
// without the old one kept as a previous key) does not stop a refused call from being kept: it is
// sealed under a stand-in key, `<keyId>~<missing master key id>`, created under the current master
// key (one per missing master key, so every process in the same state uses the same one; the key
// store destroys every stand-in with the key it stands in for, so destroying the quarantine key
// shreds the payloads kept under its stand-ins too). Reads
// of payloads under the unreadable key mark them `key-unreadable` rather than failing the page: an
// erasure still matches them by their recorded keys, and counts the ones it could not search.

export const QUARANTINE_KEY_ID = '$quarantine';

export type EncryptedQuarantineOptions = {
  /** the key store id new payloads are encrypted under; default `$quarantine` */
  readonly keyId?: string | undefined;
};

/** what a read returns in place of a payload it cannot decrypt */
export type UnavailablePayload = { readonly payload: null; readonly payloadUnavailable: 'key-destroyed' | 'tampered' | 'key-unreadable' };

/** The stored payload: ciphertext only, gzipped first when large so it still fits a 400 KB DynamoDB item. */
type Sealed = { readonly c360Sealed: 1; readonly k: string; readonly z?: 1; readonly ct: string };

const GZIP_OVER_BYTES = 16_384;

const isSealed = (p: unknown): p is Sealed =>
  typeof p === 'object' && p !== null && (p as Sealed).c360Sealed === 1 && typeof (p as Sealed).k === 'string' && typeof (p as Sealed).ct === 'string';

const aad = (tenant: string, id: string): string => `c360-quarantine/${encodeURIComponent(tenant)}/${encodeURIComponent(id)}`;

type KeyCache = Map<string, Promise<DataKey | null>>;

export class EncryptedQuarantine implements Quarantine {
  private readonly keyId: string;

  constructor(
    private readonly inner: Quarantine,
    private readonly keys: KeyStore,
    private readonly cipher: Cipher,
    options: EncryptedQuarantineOptions = {},
  ) {
    this.keyId = options.keyId ?? QUARANTINE_KEY_ID;
  }

  async put(entry: QuarantineEntry): Promise<void> {
    await this.inner.put({ ...entry, payload: await this.seal(entry.tenant, entry.id, entry.payload) });
  }

  /** The new payload sealed as a put seals one (under the current quarantine key, bound to the same id). */
  async rewrite(tenant: string, id: string, change: QuarantineRewrite): Promise<boolean> {
    return this.inner.rewrite(tenant, id, { ...change, payload: await this.seal(tenant, id, change.payload) });
  }

  private async seal(tenant: string, id: string, payload: unknown): Promise<Sealed> {
    const { keyId, key } = await this.sealingKey(tenant);
    // wrapped in an object so an undefined payload round-trips too
    const text = quarantinePayloadJson(payload);
    const json = text === undefined ? '{}' : `{"p":${text}}`;
    const large = Buffer.byteLength(json, 'utf8') > GZIP_OVER_BYTES;
    const plaintext = large ? gzipSync(json).toString('base64') : json;
    return {
      c360Sealed: 1,
      ...(large ? { z: 1 as const } : {}),
      k: keyId,
      ct: this.cipher.encrypt(key, plaintext, aad(tenant, id)),
    };
  }

  /** One entry; a payload under a key the keyring cannot open throws (a configuration fault), as a customer's key does. */
  async get(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    const entry = await this.inner.get(tenant, id);
    return entry && this.open(entry, new Map(), { strict: true });
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly status?: QuarantineEntry['status'] | undefined },
  ): Promise<QuarantinePage> {
    const page = await this.inner.list(tenant, options);
    // one key store read per key id and page, not per entry
    const cache: KeyCache = new Map();
    return { ...page, entries: await Promise.all(page.entries.map((e) => this.open(e, cache))) };
  }

  markReplayed(tenant: string, id: string, at: number): Promise<void> {
    return this.inner.markReplayed(tenant, id, at);
  }

  delete(tenant: string, id: string): Promise<void> {
    return this.inner.delete(tenant, id);
  }

  /**
   * The key new payloads are sealed under: the configured one, or its stand-in when the configured
   * one is wrapped by a master key the keyring lacks.
   */
  private async sealingKey(tenant: string): Promise<{ readonly keyId: string; readonly key: DataKey }> {
    const failed = (keyId: string, e: unknown): Error =>
      new Error(
        `cannot encrypt quarantined payloads for tenant ${tenant} under key ${keyId}: ${(e as Error).message}; if that key was destroyed on purpose, configure a new quarantine key id`,
        { cause: e },
      );
    try {
      return { keyId: this.keyId, key: await this.keys.getOrCreate(tenant, this.keyId) };
    } catch (e) {
      if (!(e instanceof MasterKeyError && e.code === 'MASTER_KEY_UNKNOWN' && typeof e.details.masterKeyId === 'string')) throw failed(this.keyId, e);
      const standIn = standInKeyId(this.keyId, e.details.masterKeyId);
      try {
        return { keyId: standIn, key: await this.keys.getOrCreate(tenant, standIn) };
      } catch (again) {
        // the stand-in is no better (wrapped under yet another missing master key): the first error says why
        throw failed(this.keyId, again instanceof MasterKeyError ? again : e);
      }
    }
  }

  private async open(
    entry: QuarantineEntry,
    cache: KeyCache,
    options: { readonly strict?: boolean } = {},
  ): Promise<QuarantineEntry | (QuarantineEntry & UnavailablePayload)> {
    const sealed = entry.payload;
    // held from before encryption was switched on: it expires with the retention like the rest
    if (!isSealed(sealed)) return entry;
    let pending = cache.get(sealed.k);
    if (!pending) cache.set(sealed.k, (pending = this.keys.get(entry.tenant, sealed.k)));
    let key: DataKey | null;
    try {
      key = await pending;
    } catch (e) {
      // its key is wrapped by a master key this keyring lacks (or KMS refuses it now): the page is
      // still listed, this payload marked, so that an erasure or an export can go on by the keys
      if (options.strict || !(e instanceof MasterKeyError)) throw e;
      return { ...entry, payload: null, payloadUnavailable: 'key-unreadable' };
    }
    if (!key) return { ...entry, payload: null, payloadUnavailable: 'key-destroyed' };
    let plaintext: string;
    try {
      plaintext = this.cipher.decrypt(key, sealed.ct, aad(entry.tenant, entry.id));
    } catch {
      // a ciphertext that fails authentication was altered or moved from another entry; one such
      // entry must not make the whole quarantine unreadable
      return { ...entry, payload: null, payloadUnavailable: 'tampered' };
    }
    const json = sealed.z === 1 ? gunzipSync(Buffer.from(plaintext, 'base64')).toString('utf8') : plaintext;
    return { ...entry, payload: (JSON.parse(json) as { p?: unknown }).p };
  }
}
