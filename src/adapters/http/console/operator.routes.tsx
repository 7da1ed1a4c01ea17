import type { Hono } from 'hono';
import { overview } from '../../../application/overview/overview.query.js';
import type { AuditEntry } from '../../../application/ports/audit.port.js';
import type { QuarantineEntry } from '../../../application/ports/quarantine.port.js';
import { whyNotReplayable } from '../../../application/quarantine/quarantine.use-cases.js';
import { QUEUE_EMPTY_SCANS, type QueuePosition } from '../../../application/matching/match-book.projection.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { HttpError } from '../errors.js';
import { BarChart } from './charts.js';
import type { ConsoleDeps, ConsoleEnv, Needs } from './console.deps.js';
import { counted } from './customer.page.js';
import { MatchTable } from './identity.page.js';
import { consoleBase, CsrfField, homeOf, Layout, render, useBase, When } from './layout.js';

// Pages over the whole tenant: the overview, search, the erasure ledger and audit log, and the
// quarantine. Each asks for the scope its API route asks for.

const iso = (ms: number) => new Date(ms).toISOString();
const age = (ms: number): string =>
  ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : ms < 2 * 86_400_000 ? `${Math.round(ms / 3_600_000)} h` : `${Math.round(ms / 86_400_000)} d`;
const idOk = (s: string | undefined): string | undefined => (s && /^[\w.:-]{1,128}$/.test(s) ? s : undefined);
/** the review queue's page size: a page of pairs, each with its evidence and two forms, stays small */
export const QUEUE_PAGE = 50;
const ID = /^[\w.:-]{1,128}$/;
type QueueCursor = { readonly c: string; readonly o?: string };
const isQueueCursor = (v: unknown): v is QueueCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as QueueCursor).c === 'string' &&
  ID.test((v as QueueCursor).c) &&
  ((v as QueueCursor).o === undefined || (typeof (v as QueueCursor).o === 'string' && ID.test((v as QueueCursor).o!)));
const queueCursor = (p: QueuePosition): string => encodeCursor(p.otherId === undefined ? { c: p.customerId } : { c: p.customerId, o: p.otherId });
const queuePosition = (cursor: string | undefined): QueuePosition | undefined => {
  if (!cursor) return undefined;
  const { c, o } = decodeCursor(cursor, isQueueCursor);
  return { customerId: c, otherId: o };
};

export const registerOperatorPages = (app: Hono<ConsoleEnv>, deps: ConsoleDeps, needs: Needs): void => {
  // a token without read lands on a page it can use rather than on a refusal
  app.get('/', async (c, next) => (homeOf(c.var.viewer) ? c.redirect(`${consoleBase(c)}${homeOf(c.var.viewer)}`, 303) : next()));
  app.get('/', needs('read'), async (c) => {
    const p = c.get('principal');
    const o = await overview(deps.core.ports, p.tenant);
    const pending = p.scopes.has('admin') ? (await deps.core.quarantine.list(p.tenant, { status: 'pending', limit: 500 })).entries : undefined;
    const reasons = pending ? byReason(pending) : [];
    const total = (k: 'customers' | 'events' | 'merges' | 'unmerges') => o.days.reduce((s, d) => s + d[k], 0);
    return render(
      c,
      <Layout title="Overview" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Overview</h1>
        <p class="muted">
          {o.from === 'newest' || o.complete
            ? `The last ${o.days.length} days of tenant ${p.tenant}, from ${o.complete ? `all ${counted(o.scanned, 'event')}` : `the newest ${counted(o.scanned, 'event')}`} of the log${o.complete ? '' : ' (older events are not counted: a day before the oldest one read shows less than happened)'}.`
            : `Activity of tenant ${p.tenant} in the first ${counted(o.scanned, 'event')} of its log, by day over the last ${o.days.length} days: this store cannot read its log newest first, and the log holds more, so recent days show less than happened.`}
        </p>
        <div class="grid">
          {(['customers', 'events', 'merges', 'unmerges'] as const).map((k) => (
            <section class="card">
              <h2>
                {k[0]!.toUpperCase() + k.slice(1)} per day <span class="stat">{total(k)}</span>
              </h2>
              <BarChart title={`${k} per day`} bars={o.days.map((d) => ({ label: d.day.slice(5), value: d[k] }))} />
            </section>
          ))}
          <section class="card">
            <h2>Ingest rate, last hour (events per minute)</h2>
            <BarChart title="events per minute" bars={o.ingestPerMinute.map((m) => ({ label: m.minute, value: m.events }))} every={10} />
          </section>
          <section class="card">
            <h2>Projection lag</h2>
            <p>
              <span class="stat">{o.lag.behind}</span> of the {counted(o.lag.checked, 'most recently written customer', 'most recently written customers')}{' '}
              {o.lag.behind === 1 ? 'has its view behind its log' : 'have views behind their log'}
              {o.lag.oldestMs !== undefined ? `; the oldest unprojected event is ${age(o.lag.oldestMs)} old` : ''}.
            </p>
          </section>
          {pending ? (
            <section class="card">
              <h2>Quarantine by reason (pending)</h2>
              {reasons.length ? (
                <BarChart title="pending quarantine entries by reason" bars={reasons.map((r) => ({ label: r.code, value: r.count }))} every={1} />
              ) : (
                <p>Nothing is quarantined.</p>
              )}
            </section>
          ) : null}
        </div>
      </Layout>,
    );
  });

  app.get('/search', needs('read'), (c) => {
    const q = c.req.query('q');
    if (q?.trim()) {
      const value = q.trim();
      // type:value is an identifier, as GET /v1/customers?identifier= takes it; an address alone
      // (an @, and no type before a colon) an email (no customer id holds an @); anything else a customer id
      const identifier = /^[^:\s@]+:.+$/.test(value) ? value : value.includes('@') ? `email:${value}` : undefined;
      const target = identifier
        ? `${consoleBase(c)}/customers/lookup?identifier=${encodeURIComponent(identifier)}`
        : `${consoleBase(c)}/customers/${encodeURIComponent(value)}`;
      return c.redirect(target, 303);
    }
    return render(
      c,
      <Layout title="Search" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Search</h1>
        <SearchForm />
      </Layout>,
    );
  });

  app.get('/privacy', needs('admin'), async (c) => {
    const p = c.get('principal');
    const after = idOk(c.req.query('after'));
    const [ledger, audit] = await Promise.all([deps.core.gdpr.receipts(p.tenant, { limit: 100 }), deps.core.gdpr.auditLog(p.tenant, { after, limit: 100 })]);
    return render(
      c,
      <Layout title="Erasures and audit log" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Erasures and audit log</h1>
        <h2>Erasure ledger</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Erasure</th>
              <th scope="col">When</th>
              <th scope="col">Requested id</th>
              <th scope="col">Customers</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {ledger.entries.map((r) => (
              <tr>
                <td class="mono">{r.erasureId}</td>
                <td>
                  <When at={r.erasedAt} />
                </td>
                <td class="mono">{r.requestedId}</td>
                <td>{r.customers.length}</td>
                <td>{r.actor}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>Audit log</h2>
        <AuditTable entries={audit.entries} />
        {audit.next ? <a href={`${consoleBase(c)}/privacy?after=${encodeURIComponent(audit.next)}`}>Later entries</a> : null}
      </Layout>,
    );
  });

  // the review queue of probable duplicates: readers see it, admins decide from it
  app.get('/matches', needs('read'), async (c) => {
    const p = c.get('principal');
    const cursor = c.req.query('cursor');
    const page = await deps.core.matching.queue(p.tenant, { after: queuePosition(cursor), limit: QUEUE_PAGE });
    return render(
      c,
      <Layout title="Probable duplicates" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Probable duplicates</h1>
        <p>
          Pairs of customers that no exact identifier joins but whose records score at or above the review threshold, with each field's weight. Accepting merges
          the pair like a manual merge (an unmerge undoes it); rejecting records that they are two people, and the pair is not suggested again.
        </p>
        <p class="muted">
          {page.suggestions.length} {page.suggestions.length === 1 ? 'pair' : 'pairs'} on this page (at most {QUEUE_PAGE}), in the order of their customer ids.
        </p>
        {page.suggestions.length === 0 ? (
          <p>
            {page.next
              ? `No probable duplicate among the ${QUEUE_EMPTY_SCANS * 2_000} customers this page read; the next page reads on from there.`
              : 'No probable duplicate on this page.'}
          </p>
        ) : (
          <MatchTable suggestions={page.suggestions} viewer={c.var.viewer} csrf={c.var.session.csrf} />
        )}
        {cursor || page.next ? (
          <nav aria-label="pages of the review queue" class="pages">
            {cursor ? (
              <a href={`${consoleBase(c)}/matches`} rel="first">
                First page
              </a>
            ) : null}
            {cursor && page.next ? ' ' : null}
            {page.next ? (
              <a href={`${consoleBase(c)}/matches?cursor=${encodeURIComponent(queueCursor(page.next))}`} rel="next">
                Next page
              </a>
            ) : null}
          </nav>
        ) : null}
      </Layout>,
    );
  });

  app.get('/quarantine', needs('admin'), async (c) => {
    const p = c.get('principal');
    const status = c.req.query('status') === 'replayed' ? 'replayed' : 'pending';
    const page = await deps.core.quarantine.list(p.tenant, { status, limit: 200, after: idOk(c.req.query('after')) });
    const now = deps.now();
    return render(
      c,
      <Layout title="Quarantine" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Quarantine ({status})</h1>
        <p>
          <a href={`${consoleBase(c)}/quarantine?status=${status === 'pending' ? 'replayed' : 'pending'}`}>
            Show {status === 'pending' ? 'replayed' : 'pending'} entries
          </a>
        </p>
        {byReason(page.entries).map((group) => (
          <section>
            <h2>
              {group.code} <span class="muted">({group.count})</span>
            </h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Entry</th>
                  <th scope="col">Age</th>
                  <th scope="col">Source</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {group.entries.map((e) => (
                  <tr>
                    <td class="mono">{e.id}</td>
                    <td>{age(now - e.receivedAt)}</td>
                    <td>{e.source}</td>
                    <td>{e.reason.message}</td>
                    <td>
                      <a href={`${consoleBase(c)}/quarantine/${encodeURIComponent(e.id)}`}>Show payload</a>
                      {e.status !== 'pending' ? null : whyNotReplayable(e) ? (
                        <span class="muted"> Not replayable (the payload page says why)</span>
                      ) : (
                        <ReplayForm id={e.id} csrf={c.var.session.csrf} />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))}
        {page.entries.length === 0 ? <p>No {status} entries.</p> : null}
        {page.next ? <a href={`${consoleBase(c)}/quarantine?status=${status}&after=${encodeURIComponent(page.next)}`}>More</a> : null}
      </Layout>,
    );
  });

  app.get('/quarantine/:id', needs('admin'), async (c) => {
    const p = c.get('principal');
    const e = await deps.core.ports.quarantine.get(p.tenant, c.req.param('id'));
    if (!e) throw new HttpError('NOT_FOUND', `no quarantine entry ${c.req.param('id')}`);
    return render(
      c,
      <Layout title="Quarantined payload" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Quarantined payload</h1>
        <p>
          <span class="mono">{e.id}</span>, received <When at={iso(e.receivedAt)} /> from {e.source}: <strong>{e.reason.code}</strong> {e.reason.message}
        </p>
        <ul>
          {e.reason.issues.map((i) => (
            <li>
              <code>{i.path}</code>: {i.message}
            </li>
          ))}
        </ul>
        {e.payloadUnavailable ? (
          <p class="notice">The payload can no longer be read ({e.payloadUnavailable}).</p>
        ) : (
          // the box scrolls (the stylesheet caps its height): a named region in the tab order, so a keyboard can scroll it
          <section class="payload" tabindex={0} aria-label={`Payload of quarantine entry ${e.id}`}>
            <pre>{JSON.stringify(e.payload, null, 2)}</pre>
          </section>
        )}
        {e.status !== 'pending' ? (
          <p>Replayed {e.replayedAt ? <When at={iso(e.replayedAt)} /> : null}</p>
        ) : e.payloadUnavailable ? (
          <p>Not replayable: the payload can no longer be read.</p>
        ) : whyNotReplayable(e) ? (
          <p class="notice">Not replayable: {whyNotReplayable(e)}.</p>
        ) : (
          <ReplayForm id={e.id} csrf={c.var.session.csrf} />
        )}
      </Layout>,
    );
  });

  app.post('/quarantine/:id/replay', needs('admin'), async (c) => {
    const p = c.get('principal');
    const id = c.req.param('id');
    const outcome = await deps.core.quarantine.replay(p.tenant, id, { actor: p.id });
    const ok = outcome.status === 'accepted' || outcome.status === 'duplicate' || outcome.status === 'replayed';
    deps.logger?.info('quarantine replayed', { principal: p.id, quarantineId: id, status: outcome.status });
    return render(
      c,
      <Layout title="Replay" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Replay of {id}</h1>
        {ok ? (
          <p class="success" role="status">
            Replayed: {outcome.status}
            {outcome.status === 'accepted' ? (
              <>
                {' '}
                into customer <a href={`${consoleBase(c)}/customers/${encodeURIComponent(outcome.customerId)}`}>{outcome.customerId}</a>
              </>
            ) : null}
          </p>
        ) : (
          <p class="error" role="alert">
            Refused again ({'error' in outcome ? `${outcome.error.code}: ${outcome.error.message}` : 'refused'}); the entry stays in the quarantine.
          </p>
        )}
        <a href={`${consoleBase(c)}/quarantine`}>Back to the quarantine</a>
      </Layout>,
      ok ? 200 : 422,
    );
  });
};

export const SearchForm = (p: { value?: string | undefined }) => {
  const base = useBase();
  return (
    <form method="get" action={`${base}/search`}>
      <label for="q">Identifier (type:value, e.g. email:ada@example.com, or an email address alone) or customer id</label>
      <input id="q" name="q" type="search" value={p.value ?? ''} required /> <button type="submit">Search</button>
    </form>
  );
};

const ReplayForm = (p: { id: string; csrf: string }) => {
  const base = useBase();
  return (
    <form method="post" action={`${base}/quarantine/${encodeURIComponent(p.id)}/replay`} class="inline">
      <CsrfField csrf={p.csrf} /> <button type="submit">Replay</button>
    </form>
  );
};

const byReason = (entries: readonly QuarantineEntry[]) => {
  const groups = new Map<string, QuarantineEntry[]>();
  for (const e of entries) groups.set(e.reason.code, [...(groups.get(e.reason.code) ?? []), e]);
  return [...groups.entries()]
    .map(([code, list]) => ({ code, count: list.length, entries: list }))
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
};

export const AuditTable = (p: { entries: readonly AuditEntry[] }) => (
  <table>
    <thead>
      <tr>
        <th scope="col">When</th>
        <th scope="col">Who</th>
        <th scope="col">Action</th>
        <th scope="col">Customer</th>
        <th scope="col">Outcome</th>
        <th scope="col">Detail</th>
      </tr>
    </thead>
    <tbody>
      {p.entries.map((e) => (
        <tr>
          <td>
            <When at={iso(e.at)} />
          </td>
          <td>{e.actor}</td>
          <td>{e.action}</td>
          <td class="mono">{e.customerId ?? ''}</td>
          <td>
            {e.outcome}
            {e.code ? ` (${e.code})` : ''}
          </td>
          <td class="mono">{e.detail ? JSON.stringify(e.detail) : ''}</td>
        </tr>
      ))}
    </tbody>
  </table>
);
