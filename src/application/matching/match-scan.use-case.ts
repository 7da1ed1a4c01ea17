import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { candidatePairs } from '../../domain/matching/blocking.js';
import { fitModel } from '../../domain/matching/estimate.js';
import type { MatchField, MatchRecord } from '../../domain/matching/match-record.js';
import { DEFAULT_THRESHOLDS, type MatchModel, type MatchScore, scorePair, verdictOf } from '../../domain/matching/match-model.js';
import { matchRecordOfView } from '../../domain/matching/view-record.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { IdentityUseCases } from '../customers/identity.use-cases.js';
import type { ReadModelStore } from '../ports/read-model.port.js';
import type { Metrics } from '../ports/runtime.port.js';
import { AUTO_MERGE_ACTOR, type MatchBookProjection, type QueuePosition } from './match-book.projection.js';
import type { MatchDecisions } from './match-decisions.use-case.js';

// `c360 match`: a batch scan of a tenant's customers. Reads every current 360 view (absorbed
// customers are pointers and take no part), blocks, and scores the candidate pairs with the
// tenant's model or, without one, a model fitted to the tenant's own records from the given seed.
// Read-only: it suggests, it never merges. One customer's suggestions, accept, reject and
// auto-merge read the stored match book (match-book.projection.ts) instead.

export type ScanSuggestion = {
  readonly customerIds: readonly [string, string];
  readonly verdict: 'auto_merge' | 'review';
  readonly score: MatchScore;
};
export type ScanResult = {
  readonly customers: number;
  readonly candidatePairs: number;
  readonly model: MatchModel;
  /** best first */
  readonly suggestions: readonly ScanSuggestion[];
};
export type ScanOptions = { readonly model?: MatchModel | undefined; readonly seed: number };

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

  async scan(tenant: string, options: ScanOptions): Promise<ScanResult> {
    const ids: string[] = [];
    const records: MatchRecord[] = [];
    let after: string | undefined;
    do {
      const page = await this.readModels.list(tenant, { after, limit: PAGE });
      for (const doc of page.docs)
        if (doc.kind === 'view') {
          ids.push(doc.customerId);
          records.push(matchRecordOfView(doc.view));
        }
      after = page.next;
    } while (after !== undefined);
    const pairs = candidatePairs(records);
    const model =
      options.model ??
      fitModel({
        version: `fitted-seed-${options.seed}`,
        records,
        candidates: pairs,
        seed: options.seed,
        randomPairs: 20_000,
        iterations: 20,
        ...DEFAULT_THRESHOLDS,
      });
    const suggestions: ScanSuggestion[] = [];
    for (const [i, j] of pairs) {
      const [a, b] = ids[i]! < ids[j]! ? [i, j] : [j, i];
      const score = scorePair(model, records[a]!, records[b]!);
      const verdict = verdictOf(model, score);
      if (verdict !== 'none') suggestions.push({ customerIds: [ids[a]!, ids[b]!], verdict, score });
    }
    suggestions.sort((x, y) => y.score.weight - x.score.weight || (x.customerIds.join(' ') < y.customerIds.join(' ') ? -1 : 1));
    return { customers: ids.length, candidatePairs: pairs.length, model, suggestions };
  }

  /** One customer's suggestions, from the stored match book (its cost does not grow with the tenant). */
  async matchesOf(
    tenant: string,
    customerId: string,
  ): Promise<{ readonly model: MatchModel; readonly suggestions: readonly ScanSuggestion[]; readonly refitDue: readonly MatchField[] }> {
    return this.book.suggestionsOf(tenant, customerId);
  }

  /** The review queue: the tenant's suggested pairs, each once, a page at a time (see MatchBookProjection.queue). */
  queue(tenant: string, options: { readonly after?: QueuePosition | undefined; readonly limit: number; readonly scan?: number | undefined }) {
    return this.book.queue(tenant, options);
  }

  /**
   * Accepts a suggestion: if the match book still suggests the pair, merges it through the manual
   * merge (limits, cluster guard and blocked values apply; unmerge undoes it). The score, each
   * field's weight and the model version go into the merge's evidence (its reason).
   */
  async accept(
    tenant: string,
    customerId: string,
    otherId: string,
    options: { readonly actor: string; readonly operationId?: string | undefined; readonly force?: boolean | undefined },
  ) {
    const s = await this.suggested(tenant, customerId, otherId);
    // force, as for any merge: past the identity rules' limits, recorded as forced
    const merged = await this.identity.merge(tenant, customerId, otherId, {
      actor: options.actor,
      reason: evidenceOf('accepted', s),
      operationId: options.operationId,
      ...(options.force === true ? { force: true } : {}),
    });
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
      const best = (await this.book.suggestionsOf(tenant, id)).suggestions.find((s) => s.verdict === 'auto_merge');
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

  private async suggested(tenant: string, customerId: string, otherId: string): Promise<ScanSuggestion> {
    const { suggestions } = await this.matchesOf(tenant, customerId);
    const s = suggestions.find((x) => (x.customerIds[0] === customerId ? x.customerIds[1] : x.customerIds[0]) === otherId);
    if (!s) {
      // an erased (or unknown) other customer is said as every route says it: 410 naming the erasure
      const absent = await this.decisions.absent(tenant, otherId, 'otherId');
      if (absent) throw absent;
      throw new DomainError(
        'MATCH_NOT_SUGGESTED',
        `${customerId} and ${otherId} are not a suggested match now (below the review threshold, never candidates, or rejected)`,
        ['otherId'],
      );
    }
    return s;
  }
}

const evidenceOf = (how: 'accepted' | 'auto-merged', s: ScanSuggestion): string =>
  `probabilistic match ${how}: p=${s.score.probability.toFixed(6)}, weight=${s.score.weight.toFixed(3)}, model ${s.score.modelVersion}; ${s.score.fields
    .map((f) => `${f.field} ${f.level} ${f.weight.toFixed(3)}`)
    .join(', ')}`;
