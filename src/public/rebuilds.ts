import type { Core } from '../application/core.js';
import type { ReapplyProgress, ReapplyReport } from '../application/gdpr/erasure.use-case.js';
import type { RebuildProgress } from '../application/projection/rebuild.use-case.js';

// The two whole-log jobs as library calls, for a user's own script, Lambda or Step Function: the
// CLI's `c360 rebuild` and `c360 erasures reapply` are these same calls with a progress bar.

export type RebuildOptions = {
  /** recorded in the audit log; default "system" */
  readonly actor?: string | undefined;
  /** after each page of the log, and once more when done */
  readonly onProgress?: ((p: RebuildProgress) => void) | undefined;
};

/**
 * Replays a tenant's whole log into a fresh generation of the 360 views, then swaps it in: reads
 * go on being answered from the old generation until then.
 */
export const rebuildViews = (
  core: Pick<Core, 'rebuild'>,
  tenant: string,
  options: RebuildOptions = {},
): Promise<{ readonly events: number; readonly docs: number }> => core.rebuild.rebuild(tenant, options.onProgress, { actor: options.actor });

export type ReapplyErasuresOptions = {
  /** recorded in the audit log; default "system" */
  readonly actor?: string | undefined;
  /** after each receipt of the erasure ledger, and once more when done */
  readonly onProgress?: ((p: ReapplyProgress) => void) | undefined;
};

/**
 * After a restore from a backup older than some erasures: re-applies every receipt of the erasure
 * ledger (tombstones, destroyed data keys, deleted views, snapshots and quarantined payloads), so
 * that no erased customer comes back. Idempotent: running it twice changes nothing more.
 */
export const reapplyErasures = (core: Pick<Core, 'gdpr'>, tenant: string, options: ReapplyErasuresOptions = {}): Promise<ReapplyReport> =>
  core.gdpr.reapply(tenant, { actor: options.actor, onProgress: options.onProgress });
