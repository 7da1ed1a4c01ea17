import type { Clock } from '../../application/ports/runtime.port.js';

// The node:crypto adapters in one import.
export { AesGcmCipher } from './aes-gcm.cipher.js';
export { createDataKey, dataKeyMaterial, destroyDataKey, DATA_KEY_BYTES } from './data-key.js';
export { HmacHasher } from './hmac.hasher.js';
export { UuidV7Generator } from './uuid-v7.id-generator.js';

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}
