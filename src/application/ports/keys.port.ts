// Data keys per customer for crypto-shredding, and the keyed hashes that stand in for identifier
// values. The application never sees key material: it hands opaque keys to the cipher.

export type DataKey = { readonly keyId: string; readonly __opaque: unique symbol };

export interface KeyStore {
  /**
   * The customer's live key, created if it has none. `fresh`: the caller knows the stream is brand
   * new, so a key is not expected and the store may create one without reading first; a key that
   * exists anyway (or a destroyed one) still wins, exactly as without the hint.
   */
  getOrCreate(tenant: string, customerId: string, options?: { readonly fresh?: boolean }): Promise<DataKey>;
  /** null when the key was destroyed (the customer was erased) or never existed */
  get(tenant: string, customerId: string): Promise<DataKey | null>;
  /**
   * Destroys the customer's key for good (a tombstone blocks the id even if it never had one).
   * Never unwraps: a key wrapped by a master key this process lacks is destroyed all the same.
   * The id's stand-ins (`<id>~<suffix>`, see standInKeyId) are destroyed with it, and none is
   * created afterwards. True when a live key was there (this call destroyed it), false when there
   * was none.
   */
  destroy(tenant: string, customerId: string): Promise<boolean>;
  /**
   * The fingerprint of the claim secret the store's claim keys are made under (see
   * application/claim-secret.ts), one per store whatever the tenant; undefined while none is
   * recorded (a new store, or one that predates it).
   */
  claimSecretFingerprint(): Promise<string | undefined>;
  /**
   * Records `fingerprint` when the store records none; the first one recorded stays for good (of
   * two processes recording at once, one wins). Answers the fingerprint the store records now.
   */
  recordClaimSecretFingerprint(fingerprint: string): Promise<string>;
}

/**
 * A stand-in key: `<id>~<suffix>` stands in for the key `<id>` where that key cannot be used (the
 * quarantine's key wrapped by a master key the keyring lacks: `$quarantine~<master key id>`, see
 * EncryptedQuarantine). A key store creates a stand-in only while the key it stands in for is live,
 * and destroys every stand-in of a key with it, so that destroying the quarantine's key shreds the
 * payloads kept under its stand-ins too. Customer ids and the quarantine's key ids never hold `~`.
 */
export const STAND_IN_SEPARATOR = '~';
export const standInKeyId = (id: string, suffix: string): string => `${id}${STAND_IN_SEPARATOR}${suffix}`;
/**
 * the id a stand-in key stands in for (the part before its first `~`: the suffix, a master key id,
 * may hold one), undefined for a key that is no stand-in
 */
export const standInFor = (id: string): string | undefined => {
  const at = id.indexOf(STAND_IN_SEPARATOR);
  return at > 0 ? id.slice(0, at) : undefined;
};
/** the refusal of a stand-in whose key does not exist */
export const noKeyToStandIn = (id: string, base: string): Error =>
  new Error(`no key ${base} for ${id} to stand in for: a stand-in is created only for a live key`);

export interface Cipher {
  /** AES-256-GCM; `aad` binds the ciphertext to the event it belongs to */
  encrypt(key: DataKey, plaintext: string, aad: string): string;
  decrypt(key: DataKey, ciphertext: string, aad: string): string;
}

export interface Hasher {
  /** HMAC(tenant secret, type + normalized value): the claim key, never the plain value */
  claimKey(tenant: string, type: string, normalizedValue: string): string;
  /** a stable digest for payload hashes and derived ids */
  digest(text: string): string;
}

/**
 * What is needed cannot be decrypted by this process now: a key is wrapped by a master key its
 * keyring lacks (the master key changed without the old one kept as a previous one). A server
 * configuration fault, never the request's: the HTTP API answers 503 MASTER_KEY_UNAVAILABLE.
 */
export class DataKeyUnavailable extends Error {
  override readonly name = 'DataKeyUnavailable';
}
