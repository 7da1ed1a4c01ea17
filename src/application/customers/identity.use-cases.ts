import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CustomerState } from '../../domain/customer/customer.state.js';
import { nestedMerge, nestedMergeError, planUnmerge } from '../../domain/customer/unmerge.js';
import { checkMerge, survivorOrder } from '../../domain/identity/resolution.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { PendingStream, type EventStamp } from '../commands/pending-stream.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';
import { absentCustomer } from './absent-customer.js';
import { givenAwayBy, redactGivenAway } from './given-away.js';
import type { CustomerRepository } from './customer.repository.js';

// Manual identity operations: merge two customers (refused when it would break a rule unless
// forced, and then recorded as forced) and undo a merge by its id.

export type OperationOptions = { readonly actor: string; readonly reason?: string | undefined; readonly operationId?: string | undefined };

type MergeOutcome = {
  readonly mergeId: string;
  readonly survivorId: string;
  readonly absorbedId: string;
  readonly forced: boolean;
  readonly duplicate: boolean;
};
type UnmergeOutcome = {
  readonly mergeId: string;
  readonly survivorId: string;
  readonly restoredId: string;
  readonly reassignedEvents: number;
  readonly transferredIdentifiers: number;
  readonly duplicate: boolean;
};

/**
 * Whether the originals of the events given back no longer hold the restored customer's personal
 * data in the survivor's stream (their pii removed from the store); false where the store cannot
 * change a stored event (EventStoreDB): the export and the views still leave them out.
 */
type UnmergeResult = UnmergeOutcome & { readonly originalsRedacted: boolean };

/** What the identity rules refuse a merge of two existing customers for (not an unknown or erased id). */
const RULE_REFUSALS: ReadonlySet<string> = new Set([
  'DO_NOT_LINK',
  'IDENTIFIER_LIMIT_EXCEEDED',
  'IDENTIFIER_BLOCKED',
  'CLUSTER_GUARD_EXCEEDED',
  'MERGE_SAME_CUSTOMER',
]);

export class IdentityUseCases {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly codec: EventCodec,
    private readonly pipeline: CommandPipeline,
  ) {}

  async merge(tenant: string, a: string, b: string, options: OperationOptions & { readonly force?: boolean }) {
    try {
      return await this.mergeAudited(tenant, a, b, options);
    } catch (e) {
      // a merge the identity rules refused is an operator's attempt worth keeping: both ids are
      // customers that exist (the rules ran on them), so the entry holds ids and the code only
      if (e instanceof DomainError && RULE_REFUSALS.has(e.code)) {
        await this.ports.audit.append({
          id: this.ports.ids.newId(),
          tenant,
          at: this.ports.clock.now(),
          actor: options.actor,
          action: 'customer.merge',
          customerId: a,
          outcome: 'refused',
          code: e.code,
          detail: { otherId: b, force: options.force === true },
        });
      }
      throw e;
    }
  }

  private async mergeAudited(tenant: string, a: string, b: string, options: OperationOptions & { readonly force?: boolean }) {
    const opId = options.operationId ?? this.ports.ids.newId();
    const opHash = this.ports.hasher.claimKey(tenant, '$operation', `merge|${a}|${b}|${options.force === true}`);
    const mergeId = this.ports.hasher.digest(`${tenant}|${opId}|merge`);
    const merged = await this.pipeline.run<MergeOutcome>({
      tenant,
      name: 'the merge',
      subject: ['customerId'],
      idempotency: {
        key: `op:${opId}`,
        payloadHash: opHash,
        // a retry: answer what the first attempt did
        duplicate: async (stored) => {
          this.sameOperation(opId, stored, opHash);
          const s = await this.repo.loadSurvivor(tenant, a);
          const record = s.merges.get(mergeId);
          return {
            mergeId,
            survivorId: s.id,
            absorbedId: record?.absorbedId ?? (a === s.id ? b : a),
            forced: record?.evidence.forced ?? options.force === true,
            duplicate: true,
          };
        },
      },
      decide: async ({ now }) => {
        const [x, y] = await Promise.all([this.repo.loadSurvivor(tenant, a), this.repo.loadSurvivor(tenant, b)]);
        for (const [c, field] of [
          [x, 'customerId'],
          [y, 'otherId'],
        ] as const) {
          if (c.status !== 'active') throw await absentCustomer(this.ports.ledger, tenant, c.id, field);
        }
        if (x.id === y.id) throw new DomainError('MERGE_SAME_CUSTOMER', `${a} and ${b} are already one customer (${x.id})`, ['otherId']);
        const [survivorState, absorbedState] = [x, y].sort(survivorOrder) as [typeof x, typeof y];
        const rules = this.ports.settings.identityRules(tenant);
        const violation = checkMerge(rules, [survivorState, absorbedState], now);
        if (violation && !options.force) {
          throw new DomainError(
            violation.reason === 'IDENTIFIER_BLOCKED' ? 'IDENTIFIER_BLOCKED' : violation.reason,
            `${violation.detail}; pass force to merge anyway (recorded as forced)`,
            ['force'],
            // the limit in words without the API's advice, for an adapter that names its own way to force
            { reason: violation.reason, detail: violation.detail },
          );
        }
        const stamp = this.stamp(now, options.actor);
        const eventIdFor = this.eventIds(tenant, opId);
        const survivor = new PendingStream(survivorState, eventIdFor);
        const absorbed = new PendingStream(absorbedState, eventIdFor);
        survivor.run(
          {
            type: 'Absorb',
            mergeId,
            absorbed: absorbedState,
            evidence: {
              rule: 'manual',
              identifiers: [],
              forced: violation !== undefined,
              actor: options.actor,
              reason: options.reason,
              rulesVersion: rules.source.version,
            },
          },
          stamp,
        );
        absorbed.run({ type: 'MarkMergedInto', mergeId, survivorId: survivorState.id }, stamp);
        // a survivor read before an unmerge still lists the absorbed customer and records nothing:
        // the commit would then check only the absorbed stream and point it at a survivor that no
        // longer lists it (an erasure of that cluster would miss it). Read both again.
        if ((survivor.recorded.length === 0) !== (absorbed.recorded.length === 0)) return { kind: 'retry', evict: [survivorState.id, absorbedState.id] };
        const outcome = { mergeId, survivorId: survivorState.id, absorbedId: absorbedState.id, forced: violation !== undefined, duplicate: false };
        return { kind: 'write', streams: [survivor, absorbed], committed: () => outcome };
      },
    });
    return this.audited(tenant, 'customer.merge', options.actor, merged, {
      otherId: merged.absorbedId,
      ...(merged.duplicate ? {} : { forced: merged.forced }),
    });
  }

  async unmerge(tenant: string, customerId: string, mergeId: string, options: OperationOptions) {
    const opId = options.operationId ?? this.ports.ids.newId();
    const opHash = this.ports.hasher.claimKey(tenant, '$operation', `unmerge|${customerId}|${mergeId}`);
    const undone = await this.pipeline.run<UnmergeOutcome>({
      tenant,
      name: 'the unmerge',
      subject: ['customerId'],
      idempotency: {
        key: `op:${opId}`,
        payloadHash: opHash,
        // a retry: answer what the first attempt did, from its CustomerUnmerged event
        duplicate: async (stored) => {
          this.sameOperation(opId, stored, opHash);
          const done = (await this.ports.store.readStream(tenant, customerId)).find(
            (e) => e.type === 'CustomerUnmerged' && (e.data as { mergeId?: string }).mergeId === mergeId,
          );
          const data = (done?.data ?? {}) as { absorbedId?: string; reassignedEventIds?: string[]; transferredKeys?: string[] };
          return {
            mergeId,
            survivorId: customerId,
            restoredId: data.absorbedId ?? '',
            reassignedEvents: data.reassignedEventIds?.length ?? 0,
            transferredIdentifiers: data.transferredKeys?.length ?? 0,
            duplicate: true,
          };
        },
      },
      decide: async ({ now }) => {
        const s = await this.repo.load(tenant, customerId);
        if (s.status === 'initial' || s.status === 'erased') throw await absentCustomer(this.ports.ledger, tenant, customerId);
        if (s.status === 'merged') {
          // a merge this customer made before it was absorbed itself: name the merges to undo first
          if (s.merges.has(mergeId)) {
            const survivor = await this.repo.loadSurvivor(tenant, s.id);
            const nested = survivor.status === 'active' ? nestedMerge(mergeId, survivor, await this.memberStates(tenant, survivor)) : undefined;
            if (nested) throw nestedMergeError(nested);
          }
          // the merge that absorbed it is held by its survivor: name where to send the unmerge
          throw new DomainError(
            'MERGE_NOT_UNDOABLE',
            `customer ${customerId} was merged into ${s.mergedInto}, which holds its merges: send the unmerge to the survivor, POST /v1/customers/${s.mergedInto}/unmerge`,
            ['customerId'],
            { survivorId: s.mergedInto },
          );
        }
        // a merge one of its members made before it was absorbed: held inside the cluster, not by it
        if (!s.merges.has(mergeId)) {
          const nested = nestedMerge(mergeId, s, await this.memberStates(tenant, s));
          if (nested) throw nestedMergeError(nested);
        }
        const key = await this.ports.keys.get(tenant, s.id);
        const events: RecordedEvent[] = this.codec.decodeStream(await this.ports.store.readStream(tenant, s.id), key);
        const plan = planUnmerge(s, mergeId, events);
        const a = await this.repo.load(tenant, plan.absorbedId);
        const stamp = this.stamp(now, options.actor);
        const eventIdFor = this.eventIds(tenant, opId);
        const survivor = new PendingStream(s, eventIdFor);
        const restored = new PendingStream(a, eventIdFor);
        const movedIds = plan.moved.map((m) => m.eventId);
        survivor.run(
          {
            type: 'Unmerge',
            mergeId,
            reassignedEventIds: movedIds,
            transferredKeys: plan.transferredKeys,
            actor: options.actor,
            reason: options.reason,
            restriction: plan.restriction,
          },
          stamp,
        );
        restored.run({ type: 'Restore', mergeId, fromId: s.id, adopted: [], adoptedEventIds: movedIds }, stamp);
        // adopted copies keep their original stamps and are encrypted under the restored customer's key
        restored.push(
          plan.moved.map((m) => m.event),
          (i) => {
            const { event: _e, eventId: _i, streamId: _s, version: _v, ...original } = plan.moved[i]!;
            return original;
          },
        );
        const outcome = {
          mergeId,
          survivorId: s.id,
          restoredId: a.id,
          reassignedEvents: movedIds.length,
          transferredIdentifiers: plan.transferredKeys.length,
          duplicate: false,
        };
        return {
          kind: 'write',
          streams: [survivor, restored],
          claims: plan.transferredKeys.map((k) => ({ op: 'transfer', key: k, expectedOwner: s.id, owner: a.id })),
          committed: () => outcome,
        };
      },
    });
    // after the commit, and again on every retry (the duplicate path): the originals' pii goes
    const given = givenAwayBy(await this.ports.store.readStream(tenant, undone.survivorId), mergeId);
    const redaction = await redactGivenAway(this.ports.store, tenant, undone.survivorId, given);
    const result: UnmergeResult = { ...undone, originalsRedacted: redaction.supported };
    return this.audited(tenant, 'customer.unmerge', options.actor, result, {
      otherId: undone.restoredId,
      reassignedEvents: undone.reassignedEvents,
      // how many originals lost their pii in this call; or that the store keeps them (EventStoreDB)
      ...(redaction.supported ? { originalsRedacted: redaction.redacted } : { originalsKept: true }),
    });
  }

  /** The states of a survivor's members, by id. */
  private async memberStates(tenant: string, survivor: CustomerState): Promise<ReadonlyMap<string, CustomerState>> {
    const states = await Promise.all(survivor.members.map((id) => this.repo.load(tenant, id)));
    return new Map(states.map((m) => [m.id, m]));
  }

  /** Appends the audit entry of a done (or retried) operation: ids and counts only. */
  private async audited<T extends { readonly mergeId: string; readonly survivorId: string; readonly duplicate: boolean }>(
    tenant: string,
    action: 'customer.merge' | 'customer.unmerge',
    actor: string,
    result: T,
    detail: Readonly<Record<string, string | number | boolean>>,
  ): Promise<T> {
    const now = this.ports.clock.now();
    const entry = { id: this.ports.ids.newId(), tenant, at: now, actor, action, customerId: result.survivorId, outcome: 'ok' as const };
    await this.ports.audit.append({ ...entry, detail: { mergeId: result.mergeId, duplicate: result.duplicate, ...detail } });
    return result;
  }

  private stamp(now: number, actor: string): EventStamp {
    return { observedAt: now, source: `operator:${actor}`, sourcePriority: 0, channel: 'other' };
  }

  private eventIds(tenant: string, opId: string) {
    return (streamId: string, index: number) => this.ports.hasher.digest(`${tenant}|op|${opId}|${streamId}|${index}`);
  }

  /** The operation id reused for another operation is refused. */
  private sameOperation(opId: string, storedHash: string, opHash: string): void {
    if (storedHash !== opHash) throw new DomainError('IDEMPOTENCY_CONFLICT', `operationId ${opId} was already used for a different operation`, ['operationId']);
  }
}
