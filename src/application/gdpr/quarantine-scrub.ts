import { normalizeIdentifier } from '../../domain/identity/identifier.js';
import type { CorePorts } from '../deps.js';
import type { QuarantineEntry } from '../ports/quarantine.port.js';

// Quarantined raw payloads that name an erased customer go too. Nothing is decrypted and no value
// is compared in the clear: every string in a payload is normalized as ingest would for each of
// the cluster's identifier types, keyed with the tenant's claim hash and compared with the
// cluster's claim keys. A payload that cannot be parsed stays; its retention period expires it.

const MAX_STRINGS = 2_000;
const MAX_LENGTH = 320;

const stringsOf = (payload: unknown): string[] => {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (out.length >= MAX_STRINGS || depth > 32) return;
    if (typeof v === 'string') {
      if (v.length <= MAX_LENGTH) out.push(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(payload, 0);
  return out;
};

const parsed = (payload: unknown): unknown => {
  if (typeof payload !== 'string') return payload;
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
};

export type ScrubTarget = { readonly keys: ReadonlySet<string>; readonly types: ReadonlySet<string>; readonly erasureId: string };

/** Whether a quarantined payload carries one of the target's identifiers (by claim key). */
export const namesCluster = (ports: Pick<CorePorts, 'hasher' | 'settings'>, tenant: string, payload: unknown, target: ScrubTarget): boolean => {
  const body = parsed(payload);
  if (body === undefined || target.keys.size === 0) return false;
  const region = ports.settings.phoneRegion(tenant);
  for (const s of stringsOf(body)) {
    for (const type of target.types) {
      try {
        const id = normalizeIdentifier(type, s, { defaultRegion: region });
        if (target.keys.has(ports.hasher.claimKey(tenant, id.type, id.value))) return true;
      } catch {
        // not a valid identifier of this type: it cannot be one of the cluster's
      }
    }
  }
  return false;
};

/** Removes matching entries; returns how many went. */
export const scrubQuarantine = async (ports: CorePorts, tenant: string, target: ScrubTarget): Promise<number> => {
  const matches: QuarantineEntry[] = [];
  let after: string | undefined;
  do {
    const page = await ports.quarantine.list(tenant, { after, limit: 200 });
    for (const e of page.entries) if (namesCluster(ports, tenant, e.payload, target)) matches.push(e);
    after = page.next;
  } while (after !== undefined);
  for (const e of matches) await ports.quarantine.delete(tenant, e.id);
  return matches.length;
};
