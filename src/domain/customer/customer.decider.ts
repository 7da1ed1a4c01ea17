import type { KeyedIdentifier } from '../identity/identifier.js';
import type { Rejection } from '../identity/resolution.js';
import { DomainError } from '../shared/errors.js';
import type { CustomerEvent, EngagementDecisionData, EventOf, MergeEvidence } from './customer.events.js';
import { placeKey, rejectionKey, type CustomerState } from './customer.state.js';

export { evolve, fold, initialState } from './customer.state.js';

// Decisions for one customer stream. Pure: ids and time arrive on the command. "Already so"
// returns [], a broken invariant throws a coded DomainError, an expected business rejection is an
// event (IdentifierRejected).

export type FactEvent = EventOf<
  | 'TraitsUpdated'
  | 'ConsentGranted'
  | 'ConsentWithdrawn'
  | 'InterestExpressed'
  | 'LocationObserved'
  | 'PageViewed'
  | 'ScreenViewed'
  | 'OrderPlaced'
  | 'ProductInteracted'
  | 'EventTracked'
  | 'GroupJoined'
>;

export type CustomerCommand =
  | { readonly type: 'Register'; readonly customerId: string; readonly observedAt: number }
  | {
      readonly type: 'Observe';
      readonly observedAt: number;
      readonly link: readonly KeyedIdentifier[];
      readonly rejected: readonly Rejection[];
      readonly rulesVersion: number;
      readonly facts: readonly FactEvent[];
    }
  | { readonly type: 'Absorb'; readonly mergeId: string; readonly absorbed: CustomerState; readonly evidence: MergeEvidence }
  | { readonly type: 'MarkMergedInto'; readonly mergeId: string; readonly survivorId: string }
  | {
      readonly type: 'Unmerge';
      readonly mergeId: string;
      readonly reassignedEventIds: readonly string[];
      readonly transferredKeys: readonly string[];
      readonly actor?: string | undefined;
      readonly reason?: string | undefined;
      /** the survivor's restriction once the events given back are gone, when a restriction decision is among them */
      readonly restriction?: { readonly restricted: boolean; readonly requestedId?: string | undefined } | undefined;
    }
  | {
      readonly type: 'Restore';
      readonly mergeId: string;
      readonly fromId: string;
      readonly adopted: readonly CustomerEvent[];
      readonly adoptedEventIds: readonly string[];
    }
  /**
   * a consent decision from the consent API; observedAt and source go on the event's stamp.
   * `requestedId`: the customer id it was requested through (an absorbed one goes back on unmerge)
   */
  | {
      readonly type: 'RecordConsent';
      readonly purpose: string;
      readonly granted: boolean;
      readonly observedAt: number;
      readonly source: string;
      readonly requestedId?: string | undefined;
    }
  /** the tombstone: every stream of the erased cluster (survivor and absorbed) gets one */
  | { readonly type: 'Erase'; readonly erasureId: string; readonly requestedId: string }
  /** `requestedId`: the customer id it was requested through (an absorbed one goes back on unmerge) */
  | { readonly type: 'Restrict'; readonly actor: string; readonly reason?: string | undefined; readonly requestedId?: string | undefined }
  | { readonly type: 'LiftRestriction'; readonly actor: string; readonly reason?: string | undefined; readonly requestedId?: string | undefined }
  /**
   * the claim re-key migration: an identifier linked under an older normalization gets the key of
   * today's, `to`, and its old key `from` is unlinked (`linkedAt`: when it was first linked)
   */
  | { readonly type: 'Rekey'; readonly from: Omit<KeyedIdentifier, 'value'>; readonly to: KeyedIdentifier; readonly linkedAt: number; readonly reason: string }
  /** an engagement decision the policy took (engagement.policy.ts), recorded on the survivor */
  | { readonly type: 'RecordEngagement'; readonly decision: EngagementDecisionData }
  /** a person decided a suggested match is two people: never suggested again */
  | { readonly type: 'RejectMatch'; readonly otherId: string; readonly actor: string; readonly modelVersion?: string | undefined };

const REASON_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Purposes match Segment categories case-insensitively, as ingest records them. */
export const consentPurpose = (purpose: string): string => purpose.trim().toLowerCase();

/** letters or digits first, then letters, digits, spaces and & - _ : ("marketing", "Functional Cookies", "C0001", "email:newsletter") */
const PURPOSE_TOKEN = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} &_:-]*$/u;
export const PURPOSE_MAX = 64;
/** a purpose code holds a few digits at most ("C0001", "purpose 10"); a phone number, an account number or a date holds more */
const PURPOSE_MAX_DIGITS = 4;

/**
 * Why a consent purpose (as sent, before consentPurpose) is refused, or undefined. A purpose is
 * stored readable (the log's clear data, the view, the lake) and outlives an erasure, so it must be
 * a code or a category, never free text: no @, digits-and-punctuation of a phone number, or a sentence.
 * A shape cannot tell a category from a short phrase naming someone ("gina rossi" passes).
 */
export const consentPurposeProblem = (purpose: string): string | undefined => {
  const p = purpose.trim();
  if (p.length === 0) return 'must not be empty';
  if (p.length > PURPOSE_MAX) return `must be at most ${PURPOSE_MAX} characters`;
  if (!PURPOSE_TOKEN.test(p) || !/\p{L}/u.test(p) || (p.match(/\p{N}/gu)?.length ?? 0) > PURPOSE_MAX_DIGITS)
    return `must be a purpose code or category (letters, digits, spaces, & - _ :, with a letter and at most ${PURPOSE_MAX_DIGITS} digits), not free text: it is stored readable and kept after an erasure`;
  return undefined;
};

/**
 * When a consent decision counts as taken: the time stated with it, never after the service
 * received it. Per purpose the latest decision wins, so a decision dated ahead (a client's clock;
 * ingest admits timestamps up to 24 h ahead) would outrank every decision taken until then, an
 * operator's withdrawal included.
 */
export const consentDecidedAt = (statedAt: number, receivedAt: number): number => Math.min(statedAt, receivedAt);

const refuseErased = (state: CustomerState): void => {
  if (state.status === 'erased') {
    throw new DomainError('CUSTOMER_ERASED', `customer ${state.id} was erased; nothing more can be recorded for it`, [], { customerId: state.id });
  }
};

const requireActive = (state: CustomerState, what: string): void => {
  refuseErased(state);
  if (state.status === 'merged') {
    throw new DomainError('CUSTOMER_MERGED', `customer ${state.id} was merged into ${state.mergedInto}; ${what} goes to the survivor`, [], {
      survivorId: state.mergedInto,
    });
  }
  if (state.status !== 'active') throw new DomainError('CUSTOMER_NOT_FOUND', `customer ${state.id} does not exist`);
};

export const decide = (command: CustomerCommand, state: CustomerState): readonly CustomerEvent[] => {
  if (command.type !== 'Erase') refuseErased(state);
  switch (command.type) {
    case 'Register':
      if (state.status !== 'initial') return [];
      return [{ type: 'CustomerRegistered', v: 1, data: { customerId: command.customerId, firstObservedAt: command.observedAt } }];
    case 'Observe': {
      requireActive(state, 'an observation');
      const events: CustomerEvent[] = [];
      for (const id of command.link) {
        if (state.identifiers.has(id.key)) continue;
        events.push({ type: 'IdentifierLinked', v: 1, data: { type: id.type, key: id.key, observedAt: command.observedAt }, pii: { value: id.value } });
      }
      for (const r of command.rejected) {
        if (state.rejections.has(rejectionKey(r.identifier.key, r.reason))) continue;
        events.push({
          type: 'IdentifierRejected',
          v: 1,
          data: { type: r.identifier.type, key: r.identifier.key, reason: r.reason, detail: r.detail, rulesVersion: command.rulesVersion },
          pii: { value: r.identifier.value },
        });
      }
      // a place is recorded when the customer arrives there, not on every call made from it
      let place = state.lastPlace;
      for (const f of command.facts) {
        if (f.type !== 'LocationObserved') {
          events.push(f);
          continue;
        }
        const key = placeKey(f.data);
        if (key === place && f.pii === undefined) continue;
        place = key;
        events.push(f);
      }
      return events;
    }
    case 'Absorb': {
      requireActive(state, 'a merge');
      const a = command.absorbed;
      if (state.members.includes(a.id)) return [];
      requireActive(a, 'a merge');
      if (a.id === state.id) throw new DomainError('MERGE_SAME_CUSTOMER', 'a customer cannot be merged into itself');
      // the operator's reason is free text, personal data: encrypted in pii, never in readable data
      const { reason, ...evidence } = command.evidence;
      return [
        {
          type: 'CustomerMerged',
          v: 1,
          data: {
            mergeId: command.mergeId,
            absorbedId: a.id,
            absorbedMembers: [...a.members],
            absorbedFirstObservedAt: a.firstObservedAt,
            absorbedVersion: a.version,
            absorbedDoNotLink: [...a.doNotLink],
            identifiers: [...a.identifiers.values()].map(({ type, key, observedAt, origin }) => ({ type, key, observedAt, origin })),
            evidence,
          },
          ...(reason ? { pii: { reason } } : {}),
        },
      ];
    }
    case 'MarkMergedInto':
      if (state.status === 'merged' && state.mergedInto === command.survivorId) return [];
      requireActive(state, 'a merge');
      return [{ type: 'CustomerMergedInto', v: 1, data: { mergeId: command.mergeId, survivorId: command.survivorId } }];
    case 'Unmerge': {
      requireActive(state, 'an unmerge');
      const merge = state.merges.get(command.mergeId);
      if (!merge) throw new DomainError('MERGE_NOT_FOUND', `customer ${state.id} has no merge ${command.mergeId}`, ['mergeId']);
      return [
        {
          type: 'CustomerUnmerged',
          v: 1,
          data: {
            mergeId: command.mergeId,
            absorbedId: merge.absorbedId,
            reassignedEventIds: [...command.reassignedEventIds],
            transferredKeys: [...command.transferredKeys],
            ...(command.actor ? { actor: command.actor } : {}),
            ...(command.restriction
              ? {
                  restriction: {
                    restricted: command.restriction.restricted,
                    ...(command.restriction.requestedId ? { requestedId: command.restriction.requestedId } : {}),
                  },
                }
              : {}),
          },
          // free text, personal data: encrypted with the event (see Absorb)
          ...(command.reason ? { pii: { reason: command.reason } } : {}),
        },
      ];
    }
    case 'Restore':
      if (state.status !== 'merged') {
        throw new DomainError('MERGE_NOT_UNDOABLE', `customer ${state.id} is not merged, so it cannot be restored`);
      }
      return [
        { type: 'CustomerRestored', v: 1, data: { mergeId: command.mergeId, fromId: command.fromId, adoptedEventIds: [...command.adoptedEventIds] } },
        ...command.adopted,
      ];
    case 'RecordConsent': {
      requireActive(state, 'a consent');
      const refused = consentPurposeProblem(command.purpose);
      if (refused) throw new DomainError('VALIDATION_FAILED', `purpose ${refused}, e.g. "marketing"`, ['purpose']);
      const purpose = consentPurpose(command.purpose);
      // like ingest's consent facts, every decision is recorded: the latest one per purpose wins
      const data = { purpose, ...(command.requestedId ? { requestedId: command.requestedId } : {}) };
      return [{ type: command.granted ? 'ConsentGranted' : 'ConsentWithdrawn', v: 1, data }];
    }
    case 'Erase':
      if (state.status === 'erased') return [];
      if (state.status === 'initial') throw new DomainError('CUSTOMER_NOT_FOUND', `customer ${state.id} does not exist`);
      return [{ type: 'CustomerErased', v: 1, data: { erasureId: command.erasureId, requestedId: command.requestedId } }];
    case 'Rekey': {
      requireActive(state, 'a re-key');
      const events: CustomerEvent[] = [];
      const { from, to } = command;
      if (!state.identifiers.has(to.key)) {
        events.push({ type: 'IdentifierLinked', v: 1, data: { type: to.type, key: to.key, observedAt: command.linkedAt }, pii: { value: to.value } });
      }
      if (state.identifiers.has(from.key) && from.key !== to.key) {
        events.push({ type: 'IdentifierUnlinked', v: 1, data: { type: from.type, key: from.key, reason: command.reason } });
      }
      return events;
    }
    case 'RejectMatch':
      requireActive(state, 'a match decision');
      if (command.otherId === state.id) throw new DomainError('VALIDATION_FAILED', 'a customer cannot be rejected as its own match', ['otherId']);
      return [
        {
          type: 'MatchRejected',
          v: 1,
          data: { otherId: command.otherId, actor: command.actor, ...(command.modelVersion ? { modelVersion: command.modelVersion } : {}) },
        },
      ];
    case 'RecordEngagement':
      requireActive(state, 'an engagement decision');
      return [{ type: 'EngagementDecided', v: 1, data: command.decision }];
    case 'Restrict':
    case 'LiftRestriction': {
      requireActive(state, 'a restriction of processing');
      // stored readable, so a code only: free text could carry personal data
      if (command.reason !== undefined && !REASON_CODE.test(command.reason)) {
        throw new DomainError('VALIDATION_FAILED', 'reason must be a code such as "objection" (letters, digits, _ . : -, at most 64)', ['reason']);
      }
      const restrict = command.type === 'Restrict';
      // "already so" only when the decision in force was asked through the same id: one asked
      // through a customer absorbed into this one is that person's (it goes back with them on
      // unmerge), so another person's request is recorded even when the flag already says so
      const through = (id: string | undefined) => id ?? state.id;
      if (state.restricted === restrict && through(state.restrictedThrough) === through(command.requestedId)) return [];
      const data = {
        actor: command.actor,
        ...(command.reason ? { reason: command.reason } : {}),
        ...(command.requestedId ? { requestedId: command.requestedId } : {}),
      };
      return [restrict ? { type: 'ProcessingRestricted', v: 1, data } : { type: 'ProcessingRestrictionLifted', v: 1, data }];
    }
  }
};
