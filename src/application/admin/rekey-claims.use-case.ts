import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { NORMALIZATION_VERSION, normalizeIdentifier, type KeyedIdentifier } from '../../domain/identity/identifier.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { PendingStream } from '../commands/pending-stream.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';
import type { DataKey } from '../ports/keys.port.js';

// Claim keys are HMAC(type + normalized value), so a change to the normalization leaves the keys
// of identifiers linked before it stale: the same spelling now computes another key and would
// start a second customer. This migration re-keys one tenant: every identifier still held whose
// stored value normalizes differently today is linked under the new key by the customer holding
// it, its old key unlinked, and the claims follow (new one claimed, old one released), one commit
// per identifier through the pipeline. Running it again changes nothing.

export type RekeyReport = {
  readonly normalizationVersion: number;
  /** IdentifierLinked events read (erased customers' cannot be read and are not counted) */
  readonly scanned: number;
  readonly rekeyed: number;
  /** the new key is already another customer's: both keep what they hold; merge them by hand if they are one */
  readonly collisions: number;
  /** stored values today's rules refuse (a lone surrogate, an email with a wrapper, junk characters or a trailing dot): left as they are */
  readonly invalid: number;
};

type Candidate = {
  readonly claimant: string;
  readonly from: Omit<KeyedIdentifier, 'value'>;
  readonly to: KeyedIdentifier;
  readonly linkedAt: number;
  /** the stamp of the latest link of the old key, so the view hides it and no activity moves forward */
  readonly last: RecordedEvent;
};

type Outcome = 'rekeyed' | 'collision' | 'gone';

export class RekeyClaims {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly codec: EventCodec,
    private readonly pipeline: CommandPipeline,
  ) {}

  async run(tenant: string, options: { readonly pageSize?: number } = {}): Promise<RekeyReport> {
    const { candidates, scanned, invalid } = await this.scan(tenant, options.pageSize ?? 500);
    let [rekeyed, collisions] = [0, 0];
    for (const c of candidates) {
      const outcome = await this.rekey(tenant, c);
      if (outcome === 'rekeyed') rekeyed++;
      if (outcome === 'collision') collisions++;
    }
    return { normalizationVersion: NORMALIZATION_VERSION, scanned, rekeyed, collisions, invalid };
  }

  /** Every linked identifier whose key today's normalization would compute differently. */
  private async scan(tenant: string, limit: number) {
    const { store, keys, hasher, settings } = this.ports;
    const dataKeys = new Map<string, DataKey | null>();
    const candidates = new Map<string, Candidate>();
    let [scanned, invalid] = [0, 0];
    let after: string | undefined;
    do {
      const page = await store.readAll(tenant, { after, limit });
      for (const stored of page.events) {
        if (stored.type !== 'IdentifierLinked') continue;
        if (!dataKeys.has(stored.streamId)) dataKeys.set(stored.streamId, await keys.get(tenant, stored.streamId));
        const r = this.codec.decode(stored, dataKeys.get(stored.streamId)!);
        if (r.event.type !== 'IdentifierLinked' || r.event.pii === undefined) continue;
        scanned++;
        const { type, key, observedAt } = r.event.data;
        let value: string;
        try {
          value = normalizeIdentifier(type, r.event.pii.value, { defaultRegion: settings.phoneRegion(tenant) }).value;
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          invalid++;
          continue;
        }
        const to = { type, value, key: hasher.claimKey(tenant, type, value) };
        if (to.key === key) continue;
        const seen = candidates.get(key);
        candidates.set(key, { claimant: seen?.claimant ?? r.streamId, from: { type, key }, to, linkedAt: seen?.linkedAt ?? observedAt, last: r });
      }
      after = page.next;
    } while (after !== undefined);
    return { candidates: [...candidates.values()], scanned, invalid };
  }

  private rekey(tenant: string, c: Candidate): Promise<Outcome> {
    const { store, hasher } = this.ports;
    return this.pipeline.run<Outcome>({
      tenant,
      name: 'the claim re-key',
      // the same locks as ingest takes for these identifiers
      lockKeys: [`${tenant}\u0000${c.from.key}`, `${tenant}\u0000${c.to.key}`],
      decide: async () => {
        const claims = await store.readClaims(tenant, [c.from.key, c.to.key]);
        // released since (erased, unmerged away): nothing left to re-key
        if (claims.get(c.from.key) !== c.claimant) return { kind: 'answer', result: 'gone' };
        const holder = await this.repo.loadSurvivor(tenant, c.claimant);
        if (holder.status !== 'active' || !holder.identifiers.has(c.from.key)) return { kind: 'answer', result: 'gone' };
        const newOwner = claims.get(c.to.key);
        if (newOwner !== undefined && (await this.repo.loadSurvivor(tenant, newOwner)).id !== holder.id) return { kind: 'answer', result: 'collision' };
        const stream = new PendingStream(holder, (streamId, index) =>
          hasher.digest(`${tenant}|rekey|v${NORMALIZATION_VERSION}|${c.from.key}|${streamId}|${index}`),
        );
        const { observedAt, source, sourcePriority, channel } = c.last;
        stream.run(
          { type: 'Rekey', from: c.from, to: c.to, linkedAt: c.linkedAt, reason: `normalization-v${NORMALIZATION_VERSION}` },
          { observedAt, source, sourcePriority, channel },
        );
        return {
          kind: 'write',
          streams: [stream],
          claims: [
            ...(newOwner === undefined ? [{ op: 'claim' as const, key: c.to.key, owner: holder.id }] : []),
            { op: 'release' as const, key: c.from.key, expectedOwner: c.claimant },
          ],
          committed: () => 'rekeyed',
        };
      },
    });
  }
}
