import { randomBytes } from 'node:crypto';
import type { DataKey } from '../../application/ports/keys.port.js';

// Material lives in a WeakMap, not on the key object, so no JSON.stringify, log line or inspect()
// of a DataKey can ever print it.
const materials = new WeakMap<object, Buffer>();

export const DATA_KEY_BYTES = 32;

export const createDataKey = (keyId: string, material: Buffer = randomBytes(DATA_KEY_BYTES)): DataKey => {
  if (material.length !== DATA_KEY_BYTES) throw new Error(`data key material must be ${DATA_KEY_BYTES} bytes, got ${material.length}`);
  const key = Object.freeze({ keyId });
  materials.set(key, Buffer.from(material));
  return key as unknown as DataKey;
};

/** A copy of the material, e.g. to wrap it under a master key. Throws for destroyed or foreign keys. */
export const dataKeyMaterial = (key: DataKey): Buffer => Buffer.from(materialOf(key));

/** For the cipher only: the live buffer, no copy on the hot path. */
export const materialOf = (key: DataKey): Buffer => {
  const material = materials.get(key);
  if (!material) throw new Error(`data key ${key.keyId} was destroyed or not created by createDataKey`);
  return material;
};

/** Zeroes the material so a DataKey still referenced somewhere (a cache) can no longer decrypt. */
export const destroyDataKey = (key: DataKey): void => {
  materials.get(key)?.fill(0);
  materials.delete(key);
};
