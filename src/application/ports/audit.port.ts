// Who did what to which customer, when: erasures, exports, consent changes and admin actions. It
// holds ids, codes and counts only, never a personal value, so it can outlive every erasure.

export type AuditAction =
  | 'customer.erase'
  | 'customer.export'
  | 'customer.restrict'
  | 'customer.unrestrict'
  | 'customer.consent'
  | 'customer.merge'
  | 'customer.unmerge'
  | 'customer.match.reject'
  | 'admin.rebuild'
  | 'quarantine.replay'
  | 'erasure.reapply';

export type AuditEntry = {
  /** UUIDv7: time-ordered */
  readonly id: string;
  readonly tenant: string;
  readonly at: number;
  /** the credential id (HTTP), `cli:<user>` or `system` */
  readonly actor: string;
  readonly action: AuditAction;
  readonly customerId?: string | undefined;
  readonly outcome: 'ok' | 'refused' | 'failed';
  /** error code when refused or failed */
  readonly code?: string | undefined;
  /** counts and ids only */
  readonly detail?: Readonly<Record<string, string | number | boolean>> | undefined;
};

export type AuditPage = { readonly entries: readonly AuditEntry[]; readonly next?: string | undefined };

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** oldest first, by id */
  list(tenant: string, options: { readonly after?: string | undefined; readonly limit: number; readonly customerId?: string | undefined }): Promise<AuditPage>;
}
