import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { candidatePairs } from '../../domain/matching/blocking.js';
import { pairKey } from '../../domain/matching/match-book.js';
import type { MatchField, MatchRecord } from '../../domain/matching/match-record.js';
import type { MatchModel, MatchScore } from '../../domain/matching/match-model.js';
import { matchRecordOfView } from '../../domain/matching/view-record.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { IdentityUseCases } from '../customers/identity.use-cases.js';
import type { ReadModelStore } from '../ports/read-model.port.js';
import type { Metrics } from '../ports/runtime.port.js';
import { AUTO_MERGE_ACTOR, type MatchBookProjection, type QueuePosition } from './match-book.projection.js';
import type { MatchDecisions } from './match-decisions.use-case.js';

// Probabilistic matching's use cases, every one over the stored match book
// (match-book.projection.ts), so that they agree: `c360 match` lists every pair the book suggests,
// one customer's suggestions are its entry, and accept and reject take a pair the book suggests.
// The batch listing also counts the tenant's current 360 views and their candidate pairs after
// blocking (absorbed customers are pointers and take no part). Listing is read-only: it never
// merges, and never fits the model or writes the book.

export type ScanSuggestion = {
  readonly customerIds: readonly [string, string];
  readonly verdict: 'auto_merge' | 'review';
  readonly score: MatchScore;
};
export type ScanResult = {
  readonly customers: number;
  readonly candidatePairs: number;
  /** the stored book's model; none while the tenant's book was never built */
  readonly model?: MatchModel | undefined;
  /** fields a refit is due for, left to a rebuild (see MatchBookOptions.refitInlineUpTo) */
  readonly refitDue: readonly MatchField[];
  /** every pair the stored book suggests, each once, best first */
  readonly suggestions: readonly ScanSuggestion[];
};

const PAGE = 500;

export class MatchScan {
  constructor(
    private readonly readModels: ReadModelStore,
    private readonly identity: Pick<IdentityUseCases, 'merge'>,
    private readonly book: MatchBookProjection,
    private readonly decisions: MatchDecisions,
    private readonly metrics: Metrics,
    /** whether the tenant turned auto-merge on (off by default) */
    private readonly autoMerge: (tenant: string) => boolean,
  ) {}

  /**
   * `c360 match`: every pair the stored match book suggests, best first (the pairs one customer's
   * suggestions, accept and reject read), with the number of current views and of their candidate
   * pairs after blocking.
   */
  async scan(tenant: string): Promise<ScanResult> {
    const records: MatchRecord[] = [];
    let after: string | undefined;
    do {
      const page = await this.readModels.list(tenant, { after, limit: PAGE });
      for (const doc of page.docs) if (doc.kind === 'view') records.push(matchRecordOfView(doc.view));
      after = page.next;
    } while (after !== undefined);
    const every = await this.book.everySuggestion(tenant);
    const { model, refitDue } = every;
    const suggestions = await this.withoutKeptApart(tenant, every.suggestions);
    const best = [...suggestions].sort((x, y) => y.score.weight - x.score.weight || (x.customerIds.join(' ') < y.customerIds.join(' ') ? -1 : 1));
    return { customers: records.length, candidatePairs: candidatePairs(records).length, model, refitDue, suggestions: best };
  }

  /** One customer's suggestions, from the stored match book (its cost does not grow with the tenant). */
  async matchesOf(
    tenant: string,
    customerId: string,
  ): Promise<{ readonly model: MatchModel; readonly suggestions: readonly ScanSuggestion[]; readonly refitDue: readonly MatchField[] }> {
    const found = await this.book.suggestionsOf(tenant, customerId);
    return { ...found, suggestions: await this.withoutKeptApart(tenant, found.suggestions) };
  }

  /** The review queue: the tenant's suggested pairs, each once, a page at a time (see MatchBookProjection.queue). */
  queue(tenant: string, options: { readonly after?: QueuePosition | undefined; readonly limit: number; readonly scan?: number | undefined }) {
    return this.book.queue(tenant, { ...options, keep: (pairs) => this.withoutKeptApart(tenant, pairs) });
  }

  /**
   * The suggestions but those the identity graph keeps apart (do-not-link: an unmerge split the two,
   * or a customer one of them absorbed since): a merge of them is refused DO_NOT_LINK, so no
   * surface offers them; a merge with force joins them, as for any merge.
   */
  private async withoutKeptApart<S extends { readonly customerIds: readonly [string, string] }>(tenant: string, suggestions: readonly S[]): Promise<S[]> {
    if (suggestions.length === 0) return [];
    const apart = await this.decisions.keptApart(
      tenant,
      suggestions.map((s) => s.customerIds),
    );
    return apart.size === 0 ? [...suggestions] : suggestions.filter((s) => !apart.has(pairKey(...s.customerIds)));
  }

  /**
   * Accepts a suggestion: if the match book still suggests the pair, merges it through the manual
   * merge (limits, cluster guard and blocked values apply; unmerge undoes it). The score, each
   * field's weight and the model version go into the merge's evidence (its reason). Two customers
   * already one answer as a merge of them does: a retry with the operationId of the accept that
   * merged them answers that merge (`duplicate`, its score as the evidence recorded it); any other
   * accept is MERGE_SAME_CUSTOMER naming the customer they are.
   */
  async accept(
    tenant: string,
    customerId: string,
    otherId: string,
    options: { readonly actor: string; readonly operationId?: string | undefined; readonly force?: boolean | undefined },
  ) {
    const merge = { actor: options.actor, operationId: options.operationId, ...(options.force === true ? { force: true } : {}) };
    const s = await this.suggestion(tenant, customerId, otherId);
    if (!s) {
      if (!(await this.decisions.oneCustomer(tenant, customerId, otherId))) throw await this.notSuggested(tenant, customerId, otherId);
      // MERGE_SAME_CUSTOMER, unless this is a retry of the merge: then what the merge did
      const merged = await this.identity.merge(tenant, customerId, otherId, merge);
      const score = scoreOfEvidence(await this.decisions.mergeReason(tenant, merged.survivorId, merged.mergeId));
      if (!score) throw new DomainError('MERGE_SAME_CUSTOMER', `${customerId} and ${otherId} are already one customer (${merged.survivorId})`, ['otherId']);
      return { ...merged, score };
    }
    // force, as for any merge: past the identity rules' limits, recorded as forced
    const merged = await this.identity.merge(tenant, customerId, otherId, { ...merge, reason: evidenceOf('accepted', s) });
    return { ...merged, score: s.score };
  }

  /**
   * Rejects a suggestion: the decision is recorded on the customer's stream (MatchRejected), and the
   * match book never suggests the pair again, a rebuild included.
   */
  async reject(tenant: string, customerId: string, otherId: string, options: { readonly actor: string }) {
    const s = await this.suggested(tenant, customerId, otherId);
    return this.decisions.reject(tenant, customerId, otherId, { actor: options.actor, modelVersion: s.score.modelVersion });
  }

  /**
   * After a commit: the match book learns of it, and, where the tenant turned auto-merge on, each
   * customer scored again merges with its best pair at or above the auto-merge threshold, through
   * the manual merge (rules apply; a refusal is counted, the pair stays a suggestion). Answers the
   * merges made.
   */
  async project(tenant: string, events: readonly RecordedEvent[]): Promise<readonly string[]> {
    const rescored = await this.book.apply(tenant, events);
    if (rescored.length === 0 || !this.autoMerge(tenant)) return [];
    const merges: string[] = [];
    for (const id of rescored) {
      const best = (await this.matchesOf(tenant, id)).suggestions.find((s) => s.verdict === 'auto_merge');
      if (!best) continue;
      try {
        const [a, b] = best.customerIds;
        const r = await this.identity.merge(tenant, a, b, { actor: AUTO_MERGE_ACTOR, reason: evidenceOf('auto-merged', best) });
        this.metrics.increment('match_auto_merged');
        merges.push(r.mergeId);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        this.metrics.increment('match_auto_merge_refused');
      }
    }
    return merges;
  }

  private async suggestion(tenant: string, customerId: string, otherId: string): Promise<ScanSuggestion | undefined> {
    const { suggestions } = await this.matchesOf(tenant, customerId);
    return suggestions.find((x) => (x.customerIds[0] === customerId ? x.customerIds[1] : x.customerIds[0]) === otherId);
  }

  private async suggested(tenant: string, customerId: string, otherId: string): Promise<ScanSuggestion> {
    const s = await this.suggestion(tenant, customerId, otherId);
    if (s) return s;
    const one = await this.decisions.oneCustomer(tenant, customerId, otherId);
    if (one) throw new DomainError('MERGE_SAME_CUSTOMER', `${customerId} and ${otherId} are already one customer (${one})`, ['otherId']);
    throw await this.notSuggested(tenant, customerId, otherId);
  }

  private async notSuggested(tenant: string, customerId: string, otherId: string): Promise<DomainError> {
    // an erased (or unknown) other customer is said as every route says it: 410 naming the erasure
    const absent = await this.decisions.absent(tenant, otherId, 'otherId');
    if (absent) return absent;
    if ((await this.decisions.keptApart(tenant, [[customerId, otherId]])).size > 0)
      return new DomainError(
        'MATCH_NOT_SUGGESTED',
        `${customerId} and ${otherId} are not suggested: an unmerge split them and they are marked do-not-link (a merge with force joins them)`,
        ['otherId'],
      );
    return new DomainError(
      'MATCH_NOT_SUGGESTED',
      `${customerId} and ${otherId} are not a suggested match now (below the review threshold, never candidates, or rejected)`,
      ['otherId'],
    );
  }
}

const evidenceOf = (how: 'accepted' | 'auto-merged', s: ScanSuggestion): string =>
  `probabilistic match ${how}: p=${s.score.probability.toFixed(6)}, weight=${s.score.weight.toFixed(3)}, model ${s.score.modelVersion}; ${s.score.fields
    .map((f) => `${f.field} ${f.level} ${f.weight.toFixed(3)}`)
    .join(', ')}`;

/** The score an accept's evidence recorded (rounded as written there), or undefined for a merge that was no accepted match. */
const scoreOfEvidence = (reason: string | undefined): MatchScore | undefined => {
  const m = /^probabilistic match accepted: p=([\d.]+), weight=(-?[\d.]+), model ([^;]+); (.*)$/.exec(reason ?? '');
  if (!m) return undefined;
  const fields = m[4]!
    .split(', ')
    .map((f) => f.split(' '))
    .filter((f) => f.length === 3)
    .map(([field, level, weight]) => ({ field: field!, level: level!, weight: Number(weight) }));
  return { probability: Number(m[1]), weight: Number(m[2]), modelVersion: m[3]!, fields } as MatchScore;
};
