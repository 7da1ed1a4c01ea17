import type { Commit, CommitResult, EventStore } from './ports/event-store.port.js';
import type { Hasher, KeyStore } from './ports/keys.port.js';

// Claim keys are HMACs under the claim secret: a store opened with another secret computes other
// keys for the same identifiers, so every lookup misses and every known person starts a second
// customer. The store therefore keeps a fingerprint of the secret its claim keys are made under
// (never the secret: an HMAC of a fixed label under it, a value no identifier's claim key can
// take), recorded by the first process that writes with it, and a process with another secret is
// refused. A store that predates the fingerprint takes the secret of the first process that writes
// to it after the upgrade (trust on first use). The secret cannot be rotated: claim keys cannot be
// recomputed without the identifiers' values, which the store does not keep in the clear.

/** the tenant and type the fingerprint is computed under: neither is one a claim key is ever made under */
const FINGERPRINT_TENANT = '$store';
const FINGERPRINT_TYPE = '$claim-secret';
const FINGERPRINT_LABEL = 'customer360-core claim secret fingerprint v1';

/** The fingerprint of the hasher's claim secret: HMAC-SHA-256 under it of a fixed label. */
export const claimSecretFingerprint = (hasher: Hasher): string => hasher.claimKey(FINGERPRINT_TENANT, FINGERPRINT_TYPE, FINGERPRINT_LABEL);

/**
 * The claim secret given is not the one the store's claim keys were made under. A configuration
 * fault, never the request's: nothing is read or written under the wrong secret.
 */
export class ClaimSecretMismatch extends Error {
  override readonly name = 'ClaimSecretMismatch';
  readonly code = 'CLAIM_SECRET_MISMATCH';
  constructor(
    /** the setting the secret came from (`claimSecret`, `C360_CLAIM_SECRET`) */
    readonly setting: string,
  ) {
    super(
      `${setting}: this store's claim keys were made under another claim secret (the store records its fingerprint, and this secret's differs); ` +
        'open it with the secret it was created with: under another one every known identifier is unknown and each would start a second customer. ' +
        'The claim secret of a store can never change',
    );
  }
}

export type ClaimSecretCheck =
  /** the store records this secret's fingerprint */
  | 'matches'
  /** the store recorded none: it now records this secret's (trust on first use) */
  | 'recorded'
  /** the store records none, and `record` was false: nothing to compare with yet */
  | 'unrecorded';

/**
 * Compares the hasher's secret with the one the store records, and records it when the store has
 * none and `record` is set. Throws ClaimSecretMismatch (naming `setting`) when they differ.
 */
export const checkClaimSecret = async (
  ports: { readonly keys: Pick<KeyStore, 'claimSecretFingerprint' | 'recordClaimSecretFingerprint'>; readonly hasher: Hasher },
  options: { readonly record: boolean; readonly setting: string },
): Promise<ClaimSecretCheck> => {
  const mine = claimSecretFingerprint(ports.hasher);
  const recorded = await ports.keys.claimSecretFingerprint();
  if (recorded === undefined) {
    if (!options.record) return 'unrecorded';
    // two processes adopting at once: the first recorded stays, and the other is compared with it
    const kept = await ports.keys.recordClaimSecretFingerprint(mine);
    if (kept !== mine) throw new ClaimSecretMismatch(options.setting);
    return 'recorded';
  }
  if (recorded !== mine) throw new ClaimSecretMismatch(options.setting);
  return 'matches';
};

/**
 * The event store as the use cases see it: the first commit waits for the claim secret to be
 * checked (and recorded, on a store that has none), the first claim read checks it alongside the
 * read; once it matched, nothing more is asked of the store. A mismatch refuses every commit and
 * claim read of the process, with ClaimSecretMismatch. Everything else is the store's own.
 */
export const claimSecretGuarded = (store: EventStore, ports: { readonly keys: KeyStore; readonly hasher: Hasher }, setting: string): EventStore => {
  let settled: Promise<ClaimSecretCheck> | undefined;
  let recorded: Promise<ClaimSecretCheck> | undefined;
  /** a failed check (the store out of reach) is asked again next time; a mismatch stays */
  const keep = (check: Promise<ClaimSecretCheck>, forget: () => void): Promise<ClaimSecretCheck> =>
    check.catch((e: unknown) => {
      if (!(e instanceof ClaimSecretMismatch)) forget();
      throw e;
    });
  const beforeRead = (): Promise<ClaimSecretCheck> =>
    recorded ??
    (settled ??= keep(checkClaimSecret(ports, { record: false, setting }), () => {
      settled = undefined;
    }));
  const beforeWrite = async (): Promise<void> => {
    if ((await beforeRead()) === 'matches') return;
    await (recorded ??= keep(checkClaimSecret(ports, { record: true, setting }), () => {
      recorded = undefined;
    }));
  };
  // once the secret matched (or was recorded), commits and claim reads go straight to the store:
  // no await, promise or allocation more on the ingest path than the store's own
  let checked = false;
  const pass = (check: ClaimSecretCheck): ClaimSecretCheck => {
    if (check !== 'unrecorded') checked = true;
    return check;
  };
  const commit = (c: Commit): Promise<CommitResult> =>
    checked
      ? store.commit(c)
      : beforeWrite().then(() => {
          checked = true;
          return store.commit(c);
        });
  const readClaims = (tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> =>
    checked ? store.readClaims(tenant, keys) : Promise.all([beforeRead().then(pass), store.readClaims(tenant, keys)]).then(([, claims]) => claims);
  // the adapter itself in every other respect (its own methods too, run on it: a SqliteEventStore
  // stays one for the log follower), with these two in front; each method bound once. Setting one
  // of the two on the wrapper (a test wrapping commit) replaces it on the wrapper, never on the
  // adapter the guard itself calls
  const own = new Map<PropertyKey, unknown>([
    ['commit', commit],
    ['readClaims', readClaims],
  ]);
  const bound = new Map<PropertyKey, { readonly of: unknown; readonly fn: unknown }>();
  return new Proxy(store, {
    get: (target, property) => {
      if (own.has(property)) return own.get(property);
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const known = bound.get(property);
      if (known?.of === value) return known.fn;
      const fn = value.bind(target);
      bound.set(property, { of: value, fn });
      return fn;
    },
    set: (target, property, value: unknown) => {
      if (own.has(property)) {
        own.set(property, value);
        return true;
      }
      return Reflect.set(target, property, value, target);
    },
  });
};
