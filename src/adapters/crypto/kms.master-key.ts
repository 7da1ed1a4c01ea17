import { DecryptCommand, EncryptCommand, KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import { MasterKeyError, type MasterKey } from './master-key.js';

// The master key in AWS KMS: data keys are wrapped and unwrapped by KMS Encrypt/Decrypt, so the
// master key never leaves KMS. The wrap context becomes the KMS EncryptionContext { tenant,
// customerId } (authenticated like the local key's AAD, and visible in CloudTrail: ids only, no
// personal data). The wrapped text keeps the ARN of the key KMS used, so Decrypt names that key
// even after an alias was pointed at another one. Kept thin: KMS does the cryptography.

export type KmsClientSource = KMSClient | (() => KMSClient);

/** A client built on the first call and reused after; the SDK reads AWS_ENDPOINT_URL_KMS itself. */
export const createKmsClient = (config: KMSClientConfig = {}): (() => KMSClient) => {
  let client: KMSClient | undefined;
  return () => (client ??= new KMSClient({ retryMode: 'standard', maxAttempts: 5, ...config }));
};

const VERSION = 'kms1';
const DATA_KEY_CONTEXT = /^c360-data-key\/([^/]*)\/([^/]*)$/;

/** `c360-data-key/<tenant>/<customerId>` (URI-encoded parts, as the key stores build it) -> KMS EncryptionContext */
export const kmsEncryptionContext = (context: string): Record<string, string> => {
  const m = DATA_KEY_CONTEXT.exec(context);
  return m ? { tenant: decodeURIComponent(m[1]!), customerId: decodeURIComponent(m[2]!) } : { context };
};

/** KMS errors that no retry will fix: the key, the grant or the ciphertext is wrong */
const KEY_UNUSABLE = new Set([
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'AccessDeniedException',
  'InvalidKeyUsageException',
  'KeyUnavailableException',
]);
const WRAP_UNREADABLE = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

export class KmsMasterKey implements MasterKey {
  readonly id: string;

  /** `keyId`: a key ARN (best) or alias ARN/name, from C360_KMS_KEY_ID */
  constructor(
    private readonly client: KmsClientSource,
    private readonly keyId: string,
  ) {
    if (keyId.trim() === '') throw new MasterKeyError('MASTER_KEY_INVALID', 'C360_KMS_KEY_ID is empty; set it to the ARN of a symmetric KMS key');
    this.id = `kms:${keyId}`;
  }

  async wrap(plainKey: Buffer, context: string): Promise<string> {
    const out = await this.call(
      () => this.kms().send(new EncryptCommand({ KeyId: this.keyId, Plaintext: plainKey, EncryptionContext: kmsEncryptionContext(context) })),
      context,
    );
    if (!out.CiphertextBlob || !out.KeyId)
      throw new MasterKeyError('MASTER_KEY_INVALID', `KMS Encrypt with ${this.keyId} answered without a ciphertext or key id`, { masterKeyId: this.id });
    return `${VERSION}.${Buffer.from(out.KeyId, 'utf8').toString('base64url')}.${Buffer.from(out.CiphertextBlob).toString('base64url')}`;
  }

  async unwrap(wrapped: string, context: string): Promise<Buffer> {
    const parts = wrapped.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) {
      throw new MasterKeyError('WRAPPED_KEY_UNREADABLE', `wrapped key is not a ${VERSION} wrap of KMS key ${this.keyId}`, { masterKeyId: this.id, context });
    }
    const usedKey = Buffer.from(parts[1], 'base64url').toString('utf8');
    const out = await this.call(
      () =>
        this.kms().send(
          new DecryptCommand({ KeyId: usedKey, CiphertextBlob: Buffer.from(parts[2]!, 'base64url'), EncryptionContext: kmsEncryptionContext(context) }),
        ),
      context,
    );
    if (!out.Plaintext)
      throw new MasterKeyError('WRAPPED_KEY_UNREADABLE', `KMS Decrypt with ${usedKey} answered without a plaintext`, { masterKeyId: this.id, context });
    return Buffer.from(out.Plaintext);
  }

  private kms(): KMSClient {
    return typeof this.client === 'function' ? this.client() : this.client;
  }

  /** Maps what retrying cannot fix to a MasterKeyError; throttling and transport errors pass through for the caller to retry. */
  private async call<T>(send: () => Promise<T>, context: string): Promise<T> {
    try {
      return await send();
    } catch (e) {
      const name = (e as Error).name;
      if (WRAP_UNREADABLE.has(name)) {
        throw new MasterKeyError(
          'WRAPPED_KEY_UNREADABLE',
          `KMS cannot open the wrapped key for ${context} (${name}): it was altered, moved from another customer, or wrapped by another key`,
          { masterKeyId: this.id, context },
        );
      }
      if (KEY_UNUSABLE.has(name)) {
        throw new MasterKeyError(
          'MASTER_KEY_INVALID',
          `KMS key ${this.keyId} cannot be used (${name}: ${(e as Error).message}); check C360_KMS_KEY_ID, the key's state and this role's kms:Encrypt/kms:Decrypt permissions`,
          { masterKeyId: this.id, context },
        );
      }
      throw e;
    }
  }
}
