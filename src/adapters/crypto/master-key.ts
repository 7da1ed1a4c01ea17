import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

// Master keys wrap the per-customer data keys before they are stored. A wrapped key is bound to
// its context (tenant + customer id) through the AAD, so it cannot be copied onto another
// customer. The AWS KMS adapter implements the same interface.

export interface MasterKey {
  /** stable and safe to store next to what it wrapped: a fingerprint, never key material */
  readonly id: string;
  wrap(plainKey: Buffer, context: string): Promise<string>;
  unwrap(wrapped: string, context: string): Promise<Buffer>;
}

export type MasterKeyErrorCode = 'MASTER_KEY_INVALID' | 'MASTER_KEY_UNKNOWN' | 'WRAPPED_KEY_UNREADABLE';

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
  constructor(
    readonly code: MasterKeyErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export const MASTER_KEY_BYTES = 32;
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/** 32 fresh random bytes as base64: a new local master key, e.g. for the embedded default's data dir. */
export const generateLocalMasterKey = (): string => randomBytes(MASTER_KEY_BYTES).toString('base64');

/** AES-256-GCM under a 32-byte key from config; wrapped format `v1.<iv>.<ct>.<tag>`, base64url parts. */
export class LocalMasterKey implements MasterKey {
  readonly id: string;
  // a private field: JSON.stringify and util.inspect of the instance never show the key
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== MASTER_KEY_BYTES) {
      throw new MasterKeyError(
        'MASTER_KEY_INVALID',
        `a local master key must be ${MASTER_KEY_BYTES} bytes, got ${key.length}; generate one with \`openssl rand -base64 32\``,
      );
    }
    this.#key = Buffer.from(key);
    this.id = `local:${createHmac('sha256', this.#key).update('c360 master key id').digest('hex').slice(0, 16)}`;
  }

  /** `name` is the config variable the text came from, so the error can point at it. */
  static fromBase64(text: string, name = 'master key'): LocalMasterKey {
    // a plain-JS caller (or `process.env.X as string`) may hand over a variable that is not set
    if (typeof text !== 'string')
      throw new MasterKeyError(
        'MASTER_KEY_INVALID',
        `${name} is missing (got ${text === null ? 'null' : typeof text}, not the key's base64 text); generate one with \`openssl rand -base64 32\` and keep it in a secret store`,
        { name },
      );
    const trimmed = text.trim();
    if (trimmed === '')
      throw new MasterKeyError('MASTER_KEY_INVALID', `${name} is empty; generate one with \`openssl rand -base64 32\` and keep it in a secret store`, { name });
    if (!BASE64.test(trimmed)) throw new MasterKeyError('MASTER_KEY_INVALID', `${name} is not base64; generate one with \`openssl rand -base64 32\``, { name });
    const key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
    try {
      return new LocalMasterKey(key);
    } catch (e) {
      throw e instanceof MasterKeyError ? new MasterKeyError(e.code, `${name}: ${e.message}`, { name }) : e;
    }
  }

  async wrap(plainKey: Buffer, context: string): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plainKey), cipher.final()]);
    return `${VERSION}.${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  async unwrap(wrapped: string, context: string): Promise<Buffer> {
    const parts = wrapped.split('.');
    const iv = Buffer.from(parts[1] ?? '', 'base64url');
    const tag = Buffer.from(parts[3] ?? '', 'base64url');
    if (parts.length !== 4 || parts[0] !== VERSION || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new MasterKeyError('WRAPPED_KEY_UNREADABLE', `wrapped key is not a ${VERSION} wrap of master key ${this.id}`, { masterKeyId: this.id, context });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(parts[2]!, 'base64url')), decipher.final()]);
    } catch {
      throw new MasterKeyError(
        'WRAPPED_KEY_UNREADABLE',
        `wrapped key does not open under master key ${this.id} for ${context}: it was altered, or moved from another customer`,
        { masterKeyId: this.id, context },
      );
    }
  }
}

export type WrappedKey = { readonly masterKeyId: string; readonly wrapped: string };

/** The master keys live data keys are wrapped by, beside the keyring's: what a start checks. */
export type MasterKeyUse = {
  /** every master key id found (SQLite: all of them; DynamoDB: those of a sample) */
  readonly inUse: readonly string[];
  /** those of inUse the keyring does not hold: the keys they wrap cannot be opened */
  readonly unknown: readonly string[];
  readonly keyring: readonly string[];
  /** true when inUse is every id the store holds, false when it comes from a sample */
  readonly complete: boolean;
};

/**
 * The current master key wraps; any key of the ring unwraps what it wrapped. Rotation: put the new
 * key first and keep the old ones until every data key has been re-wrapped, then drop them.
 */
export class MasterKeyring {
  private readonly byId = new Map<string, MasterKey>();

  constructor(
    readonly current: MasterKey,
    previous: readonly MasterKey[] = [],
  ) {
    for (const key of [current, ...previous]) {
      if (this.byId.has(key.id)) throw new MasterKeyError('MASTER_KEY_INVALID', `master key ${key.id} is in the keyring twice`, { masterKeyId: key.id });
      this.byId.set(key.id, key);
    }
  }

  get ids(): readonly string[] {
    return [...this.byId.keys()];
  }

  has(masterKeyId: string): boolean {
    return this.byId.has(masterKeyId);
  }

  async wrap(plainKey: Buffer, context: string): Promise<WrappedKey> {
    return { masterKeyId: this.current.id, wrapped: await this.current.wrap(plainKey, context) };
  }

  async unwrap(key: WrappedKey, context: string): Promise<Buffer> {
    const master = this.byId.get(key.masterKeyId);
    if (!master) {
      throw new MasterKeyError(
        'MASTER_KEY_UNKNOWN',
        `${context} is wrapped by master key ${key.masterKeyId}, which is not in the keyring (${this.ids.join(', ')}); add it as a previous key`,
        { masterKeyId: key.masterKeyId, context },
      );
    }
    return master.unwrap(key.wrapped, context);
  }
}
