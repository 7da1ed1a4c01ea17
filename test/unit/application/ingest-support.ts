import { expect } from 'vitest';
import type { Get360Result } from '../../../src/application/customers/customer.queries.js';
import type { Customer360Response } from '../../../src/application/customers/customer360.presenter.js';
import type { IngestOutcome } from '../../../src/application/ingest/ingest.use-case.js';
import type { ReplayOutcome } from '../../../src/application/quarantine/quarantine.use-cases.js';
import type { Harness } from '../../support/harness.js';

// Small helpers over the harness for the application tests (not a test file itself).

export const TENANT = 'acme';

export const accepted = (o: IngestOutcome | ReplayOutcome): Extract<IngestOutcome, { status: 'accepted' }> => {
  expect(o.status, JSON.stringify(o)).toBe('accepted');
  return o as Extract<IngestOutcome, { status: 'accepted' }>;
};

export const quarantined = (o: IngestOutcome): Extract<IngestOutcome, { status: 'quarantined' }> => {
  expect(o.status, JSON.stringify(o)).toBe('quarantined');
  return o as Extract<IngestOutcome, { status: 'quarantined' }>;
};

export const asView = (r: Get360Result): Customer360Response => {
  expect(r.kind, JSON.stringify(r)).toBe('view');
  return (r as Extract<Get360Result, { kind: 'view' }>).customer;
};

export const view360 = async (h: Harness, id: string, tenant = TENANT): Promise<Customer360Response> => asView(await h.core.queries.get360(tenant, id));

/** The parts of a view that depend on when it is read or how many commits touched it, removed. */
export const comparable = (c: Customer360Response) => ({ ...c, version: 0, scores: { ...c.scores, computedAt: undefined } });

export const iso = (ms: number): string => new Date(ms).toISOString();

export { domainError } from '../../support/domain-error.js';
