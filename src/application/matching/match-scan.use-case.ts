import { candidatePairs } from '../../domain/matching/blocking.js';
import { fitModel } from '../../domain/matching/estimate.js';
import type { MatchRecord } from '../../domain/matching/match-record.js';
import { DEFAULT_THRESHOLDS, type MatchModel, type MatchScore, scorePair, verdictOf } from '../../domain/matching/match-model.js';
import { matchRecordOfView } from '../../domain/matching/view-record.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { IdentityUseCases } from '../customers/identity.use-cases.js';
import type { ReadModelStore } from '../ports/read-model.port.js';

// `c360 match`: a batch scan of a tenant's customers. Reads every current 360 view (absorbed
// customers are pointers and take no part), blocks, and scores the candidate pairs with the
// tenant's model or, without one, a model fitted to the tenant's own records from the given seed.
// Read-only: it suggests, it never merges.

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

  /** One customer's suggestions, from a scan of its tenant (cost grows with the tenant: a first cut). */
  async matchesOf(
    tenant: string,
    customerId: string,
    options: ScanOptions,
  ): Promise<{ readonly model: MatchModel; readonly suggestions: readonly ScanSuggestion[] }> {
    const r = await this.scan(tenant, options);
    return { model: r.model, suggestions: r.suggestions.filter((s) => s.customerIds.includes(customerId)) };
  }

  /**
   * Accepts a suggestion: scores the pair again now and, if it is still suggested, merges it through
   * the manual merge (limits, cluster guard and blocked values apply; unmerge undoes it). The score,
   * each field's weight and the model version go into the merge's evidence (its reason).
   */
  async accept(
    tenant: string,
    customerId: string,
    otherId: string,
    options: ScanOptions & { readonly actor: string; readonly operationId?: string | undefined },
  ) {
    const { suggestions } = await this.matchesOf(tenant, customerId, options);
    const s = suggestions.find((x) => x.customerIds.includes(otherId));
    if (!s)
      throw new DomainError(
        'MATCH_NOT_SUGGESTED',
        `${customerId} and ${otherId} are not a suggested match now (below the review threshold or never candidates)`,
        ['otherId'],
      );
    const merged = await this.identity.merge(tenant, customerId, otherId, { actor: options.actor, reason: evidenceOf(s), operationId: options.operationId });
    return { ...merged, score: s.score };
  }
}

const evidenceOf = (s: ScanSuggestion): string =>
  `probabilistic match accepted: p=${s.score.probability.toFixed(6)}, weight=${s.score.weight.toFixed(3)}, model ${s.score.modelVersion}; ${s.score.fields
    .map((f) => `${f.field} ${f.level} ${f.weight.toFixed(3)}`)
    .join(', ')}`;
