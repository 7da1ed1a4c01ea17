import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Cipher, DataKey } from '../../application/ports/keys.port.js';
import { materialOf } from './data-key.js';
import { takeRandom } from './random-pool.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM; ciphertext format `v1.<iv>.<ct>.<tag>`, each part base64url. */
export class AesGcmCipher implements Cipher {
  encrypt(key: DataKey, plaintext: string, aad: string): string {
    const iv = takeRandom(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', materialOf(key), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const head = cipher.update(plaintext, 'utf8');
    const rest = cipher.final(); // GCM has nothing left to give, so no concat (as in decrypt)
    const ct = rest.length === 0 ? head : Buffer.concat([head, rest]);
    return `${VERSION}.${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  decrypt(key: DataKey, ciphertext: string, aad: string): string {
    const parts = ciphertext.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new Error(`not a ${VERSION} ciphertext`);
    const iv = Buffer.from(parts[1]!, 'base64url');
    const tag = Buffer.from(parts[3]!, 'base64url');
    // GCM accepts short tags unless told otherwise; a truncated tag must not weaken authentication.
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('malformed ciphertext');
    const decipher = createDecipheriv('aes-256-gcm', materialOf(key), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    const head = decipher.update(Buffer.from(parts[2]!, 'base64url'));
    const rest = decipher.final(); // authenticates; GCM has nothing left to give, so no concat
    return (rest.length === 0 ? head : Buffer.concat([head, rest])).toString('utf8');
  }
}
