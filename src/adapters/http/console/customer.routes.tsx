import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Get360Result } from '../../../application/customers/customer.queries.js';
import type { Customer360Response } from '../../../application/customers/customer360.presenter.js';
import { DomainError } from '../../../domain/shared/errors.js';
import { pageTimeline } from '../cursor.js';
import { HttpError, statusOf } from '../errors.js';
import { ConsentRequest, ReasonCode } from '../schemas.js';
import type { ConsoleDeps, ConsoleEnv, Needs } from './console.deps.js';
import { CustomerPage, CustomerTabs } from './customer.page.js';
import { AcceptForcedForm, IdentityPage, MergeForm } from './identity.page.js';
import { consoleBase, CsrfField, Layout, render, When } from './layout.js';
import { AuditTable, SearchForm } from './operator.routes.js';
import { type ConsentForm, type ErasureForm, ErasureReceiptPage, PrivacyPage } from './privacy.page.js';

// One customer: the 360, identity (merge evidence, unmerge, manual merge) and privacy (export,
// restriction, consent, erasure). The same use cases as the API routes, with the same scopes:
// read for the views, admin for merges, gdpr for the privacy actions.

type C = Context<ConsoleEnv>;

const customerUrl = (c: C, id: string, tab = '') => `${consoleBase(c)}/customers/${encodeURIComponent(id)}${tab}`;
const field = (form: Record<string, unknown>, name: string): string => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
/** An optional reason code, as the API's erasure and restriction take it (never free text). */
const reasonCode = (value: string): string | undefined => {
  if (!value) return undefined;
  if (!ReasonCode.safeParse(value).success)
    throw new HttpError('VALIDATION_FAILED', 'the reason must be a reason code (letters, digits, _ . : -, at most 64), never free text', [
      { path: 'reason', message: 'not a reason code' },
    ]);
  return value;
};
const required = (value: string, name: string, what: string): string => {
  if (!value) throw new HttpError('VALIDATION_FAILED', `${what} is required`, [{ path: name, message: 'required' }]);
  if (value.length > 1_000) throw new HttpError('VALIDATION_FAILED', `${what} is too long (at most 1000 characters)`, [{ path: name, message: 'too long' }]);
  return value;
};

/**
 * What the privacy page's `?done=` may say: a code from this set, the words written here, never text
 * from the URL (a link could otherwise show any "Done: ..." it liked). A consent's purpose is named
 * only when the customer's view holds that decision.
 */
const DONE = {
  restricted: 'processing restricted',
  'restricted-already': 'processing restricted (it already was)',
  unrestricted: 'processing no longer restricted',
  'unrestricted-already': 'processing no longer restricted (it already was)',
  'consent-granted': 'consent recorded: granted',
  'consent-withdrawn': 'consent recorded: withdrawn',
} as const;
type Done = keyof typeof DONE;
const doneNotice = (code: string | undefined, purpose: string | undefined, customer: Customer360Response): string | undefined => {
  if (!code || !Object.hasOwn(DONE, code)) return undefined;
  const done = code as Done;
  if ((done === 'consent-granted' || done === 'consent-withdrawn') && purpose && Object.hasOwn(customer.consents, purpose)) {
    const status = done === 'consent-granted' ? 'granted' : 'withdrawn';
    if (customer.consents[purpose]?.status === status) return `consent for ${purpose} recorded: ${status}`;
  }
  return DONE[done];
};
const doneUrl = (c: C, id: string, done: Done, extra = '') => `${customerUrl(c, id, '/privacy')}?done=${done}${extra}`;

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * What an unmerge moved besides the merged-in customer's own identifiers (those are its own again in
 * any case): the survivor's events since the merge that carried only that customer's identifiers,
 * and the identifiers those events linked.
 */
const sinceMerge = (events: number, identifiers: number): string =>
  events === 0
    ? 'No event recorded since the merge belonged to the customer merged in: nothing else moved back.'
    : `Since the merge, ${count(events, 'event', 'events')} recorded on the survivor belonged to the customer merged in and moved back to it` +
      (identifiers === 0 ? '; they linked no new identifier.' : `, with ${count(identifiers, 'identifier', 'identifiers')} they linked.`);

/** A merged-away id lands on its survivor's same page, saying so. */
const survivorRedirect = (c: C, result: Get360Result & { kind: 'redirect' }, from: string, tab = '') =>
  c.redirect(`${customerUrl(c, result.survivorId, tab)}?merged=${encodeURIComponent(from)}`, 303);

const page = (c: C, title: string, id: string, tab: 'profile' | 'identity' | 'privacy', body: unknown, status: 200 | 400 | 404 = 200) =>
  render(
    c,
    <Layout title={title} viewer={c.var.viewer} csrf={c.var.session.csrf}>
      <h1>
        Customer <span class="mono">{id}</span>
      </h1>
      <CustomerTabs id={id} at={tab} viewer={c.var.viewer} />
      {body as never}
    </Layout>,
    status,
  );

type Decision = {
  readonly kind: 'merge' | 'accept' | 'reject';
  readonly id: string;
  readonly otherId: string;
  /** the manual merge's reason, as sent */
  readonly reason?: string | undefined;
};

/**
 * A merge or match decision the core refused, with the way on rather than a dead end: the reason,
 * links to the customers involved (each one that still exists), the review queue, and for a
 * manual merge its form again with what was sent (force left for the user to tick).
 */
const refusedDecision = (c: C, d: Decision, e: DomainError | HttpError) => {
  const absent = e instanceof DomainError && (e.code === 'CUSTOMER_NOT_FOUND' || e.code === 'CUSTOMER_ERASED') ? (e.path[0] ?? 'customerId') : undefined;
  const customers = [
    { id: d.id, gone: absent === 'customerId' },
    { id: d.otherId, gone: absent === 'otherId' || d.otherId === '' },
  ].filter((x) => !x.gone);
  const title = d.kind === 'merge' ? 'Merge refused' : d.kind === 'accept' ? 'Match not merged' : 'Rejection refused';
  const admin = c.var.viewer.scopes.has('admin');
  // past an identity limit: the limit in words, and the console's own way to force it (the core's message names the API's field)
  const limit = e instanceof DomainError && e.path[0] === 'force' && d.kind !== 'reject' ? String(e.details.detail ?? e.message) : undefined;
  return render(
    c,
    <Layout title={title} viewer={c.var.viewer} csrf={c.var.session.csrf}>
      <h1>{title}</h1>
      <p class="error" role="alert">
        {limit === undefined ? e.message : `${limit}.`}
      </p>
      {limit !== undefined && d.kind === 'merge' ? (
        <p>To merge anyway, tick "Force past identity limits" in the form below and merge again: the merge is recorded as forced.</p>
      ) : null}
      {limit !== undefined && d.kind === 'accept' && admin ? (
        <>
          <p>To merge the pair anyway, tick "Force past identity limits" below and accept again: the merge is recorded as forced (an unmerge undoes it).</p>
          <AcceptForcedForm id={d.id} otherId={d.otherId} csrf={c.var.session.csrf} />
        </>
      ) : null}
      <nav aria-label="Where to go from here">
        <ul>
          {customers.map((x) => (
            <li>
              <a href={customerUrl(c, x.id, '/identity')}>
                Customer <span class="mono">{x.id}</span>
              </a>{' '}
              <span class="muted">(identity, merges and probable duplicates)</span>
            </li>
          ))}
          <li>
            <a href={`${consoleBase(c)}/matches`}>Probable duplicates</a> <span class="muted">(the review queue)</span>
          </li>
        </ul>
      </nav>
      {d.kind === 'merge' && admin && absent !== 'customerId' ? (
        <>
          <h2>Try again</h2>
          <MergeForm id={d.id} csrf={c.var.session.csrf} otherId={d.otherId} reason={d.reason} />
        </>
      ) : null}
    </Layout>,
    statusOf(e.code) as ContentfulStatusCode,
  );
};

/** `run`, with a refusal (a domain rule, or a form field) answered by refusedDecision; anything else goes to the error page. */
const orRefused = async (c: C, d: Decision, run: () => Promise<Response>): Promise<Response> => {
  try {
    return await run();
  } catch (e) {
    if (e instanceof DomainError || (e instanceof HttpError && e.code === 'VALIDATION_FAILED')) return refusedDecision(c, d, e);
    throw e;
  }
};

export const registerCustomerPages = (app: Hono<ConsoleEnv>, deps: ConsoleDeps, needs: Needs): void => {
  const tenant = (c: C) => c.get('principal').tenant;

  app.get('/customers/lookup', needs('read'), async (c) => {
    const raw = c.req.query('identifier') ?? '';
    const colon = raw.indexOf(':');
    if (colon < 1)
      throw new HttpError('VALIDATION_FAILED', 'search for type:value, e.g. email:ada@example.com, or a customer id', [
        { path: 'q', message: 'must be type:value' },
      ]);
    try {
      const found = await deps.core.queries.findByIdentifier(tenant(c), raw.slice(0, colon), raw.slice(colon + 1));
      const id = found.kind === 'redirect' ? found.survivorId : found.customer.customerId;
      return c.redirect(customerUrl(c, id), 303);
    } catch (e) {
      if (!(e instanceof DomainError && (e.code === 'CUSTOMER_NOT_FOUND' || e.code === 'IDENTIFIER_INVALID'))) throw e;
      return render(
        c,
        <Layout title="Search" viewer={c.var.viewer} csrf={c.var.session.csrf}>
          <h1>Search</h1>
          <SearchForm value={raw} />
          <p class="notice" role="status">
            No customer found: {e.message}.
          </p>
        </Layout>,
        404,
      );
    }
  });

  app.get('/customers/:id', needs('read'), async (c) => {
    const id = c.req.param('id');
    const result = await deps.core.queries.get360(tenant(c), id);
    if (result.kind === 'redirect') return survivorRedirect(c, result, id);
    const timeline = pageTimeline(result.customer.timeline, 20, c.req.query('cursor'));
    const config = deps.core.ports.settings.scoreConfig(tenant(c));
    return page(c, 'Customer 360', id, 'profile', <CustomerPage c={result.customer} timeline={timeline} config={config} mergedFrom={c.req.query('merged')} />);
  });

  app.get('/customers/:id/identity', needs('read'), async (c) => {
    const id = c.req.param('id');
    const x = await deps.core.queries.explain(tenant(c), id);
    if (x.status === 'merged') return c.redirect(`${customerUrl(c, x.survivorId, '/identity')}?merged=${encodeURIComponent(id)}`, 303);
    const { model, suggestions } = await deps.core.matching.matchesOf(tenant(c), id);
    return page(
      c,
      'Identity',
      id,
      'identity',
      <IdentityPage x={x} viewer={c.var.viewer} csrf={c.var.session.csrf} matches={{ modelVersion: model.version, suggestions }} />,
    );
  });

  // a decision about a suggested pair, from the identity page or the review queue
  app.post('/customers/:id/matches/:decision{accept|reject}', needs('admin'), async (c) => {
    const p = c.get('principal');
    const form = await c.req.parseBody();
    const id = c.req.param('id');
    const reject = c.req.param('decision') === 'reject';
    const d: Decision = { kind: reject ? 'reject' : 'accept', id, otherId: field(form, 'otherId') };
    return orRefused(c, d, async () => {
      const otherId = required(d.otherId, 'otherId', 'the other customer of the pair');
      if (reject) {
        await deps.core.matching.reject(p.tenant, id, otherId, { actor: p.id });
        deps.logger?.info('match rejected', { principal: p.id, customerId: id, otherId });
        return c.redirect(customerUrl(c, id, '/identity'), 303);
      }
      const merged = await deps.core.matching.accept(p.tenant, id, otherId, { actor: p.id, force: field(form, 'force') === 'true' });
      deps.logger?.info('match accepted', { principal: p.id, mergeId: merged.mergeId, survivorId: merged.survivorId, absorbedId: merged.absorbedId });
      return c.redirect(customerUrl(c, merged.survivorId, '/identity'), 303);
    });
  });

  app.post('/customers/:id/merge', needs('admin'), async (c) => {
    const p = c.get('principal');
    const form = await c.req.parseBody();
    const d: Decision = { kind: 'merge', id: c.req.param('id'), otherId: field(form, 'otherId'), reason: field(form, 'reason') };
    return orRefused(c, d, async () => {
      const otherId = required(d.otherId, 'otherId', 'the id of the customer to merge in');
      const merged = await deps.core.identity.merge(p.tenant, d.id, otherId, {
        actor: p.id,
        force: field(form, 'force') === 'true',
        reason: required(d.reason ?? '', 'reason', 'a reason'),
      });
      deps.logger?.info('customers merged', { principal: p.id, mergeId: merged.mergeId, survivorId: merged.survivorId, absorbedId: merged.absorbedId });
      return c.redirect(customerUrl(c, merged.survivorId, '/identity'), 303);
    });
  });

  app.get('/customers/:id/unmerge', needs('admin'), async (c) => {
    const id = c.req.param('id');
    const mergeId = c.req.query('mergeId') ?? '';
    const x = await deps.core.queries.explain(tenant(c), id);
    if (x.status === 'merged') return c.redirect(`${customerUrl(c, x.survivorId, '/unmerge')}?mergeId=${encodeURIComponent(mergeId)}`, 303);
    if (!x.merges.some((m) => m.mergeId === mergeId)) {
      // no form that can only be refused: the merge was undone already, or is none of this customer's
      const undone = mergeId ? await deps.core.queries.unmergeOf(tenant(c), id, mergeId) : undefined;
      return page(
        c,
        'Unmerge',
        id,
        'identity',
        <>
          <p class={undone ? 'notice' : 'error'} role="status">
            {undone ? (
              <>
                Merge <code>{mergeId}</code> was already undone (<When at={undone.at} />
                ): customer <a href={customerUrl(c, undone.restoredId)}>{undone.restoredId}</a> is separate again.
              </>
            ) : (
              <>
                Customer <code>{id}</code> has no merge <code>{mergeId || '(none named)'}</code>.
              </>
            )}
          </p>
          <p>
            <a href={customerUrl(c, id, '/identity')}>The merges this customer holds now</a>
          </p>
        </>,
        undone ? 200 : 404,
      );
    }
    return page(
      c,
      'Unmerge',
      id,
      'identity',
      <form method="post" action={customerUrl(c, id, '/unmerge')}>
        <h2>Undo merge {mergeId}</h2>
        <p>
          The customer merged in comes back with its own identifiers and the events that carry them, and the pair is marked do-not-link so that the same
          identifiers do not merge them again.
        </p>
        <CsrfField csrf={c.var.session.csrf} />
        <input type="hidden" name="mergeId" value={mergeId} />
        <label for="reason">Reason (kept encrypted in the customer's identity history, erased with the customer)</label>
        <input id="reason" name="reason" type="text" required />
        <p>
          <input id="confirm" name="confirm" type="checkbox" value="yes" required />{' '}
          <label for="confirm" class="inline">
            I confirm this unmerge
          </label>
        </p>
        <button type="submit" class="danger">
          Unmerge
        </button>
      </form>,
    );
  });

  app.post('/customers/:id/unmerge', needs('admin'), async (c) => {
    const p = c.get('principal');
    const form = await c.req.parseBody();
    if (field(form, 'confirm') !== 'yes')
      throw new HttpError('VALIDATION_FAILED', 'tick the confirmation to unmerge', [{ path: 'confirm', message: 'required' }]);
    const undone = await deps.core.identity.unmerge(p.tenant, c.req.param('id'), required(field(form, 'mergeId'), 'mergeId', 'the merge id'), {
      actor: p.id,
      reason: required(field(form, 'reason'), 'reason', 'a reason'),
    });
    deps.logger?.info('merge undone', { principal: p.id, mergeId: undone.mergeId, survivorId: undone.survivorId, restoredId: undone.restoredId });
    return page(
      c,
      'Unmerged',
      undone.survivorId,
      'identity',
      <div class="success" role="status">
        <p>
          Merge {undone.mergeId} undone{undone.duplicate ? ' (it already was: this repeats that unmerge)' : ''}: two customers again.
        </p>
        <ul>
          <li>
            <a href={customerUrl(c, undone.survivorId)}>{undone.survivorId}</a> (the survivor)
          </li>
          <li>
            <a href={customerUrl(c, undone.restoredId)}>{undone.restoredId}</a> (the customer merged in, separate again with the identifiers it brought to the
            merge)
          </li>
        </ul>
        <p>{sinceMerge(undone.reassignedEvents, undone.transferredIdentifiers)}</p>
      </div>,
    );
  });

  registerPrivacyPages(app, deps, needs);
};

const registerPrivacyPages = (app: Hono<ConsoleEnv>, deps: ConsoleDeps, needs: Needs): void => {
  /** The privacy page; with the erasure form as sent when the server refused it (400). */
  const privacyPage = async (c: C, id: string, erase?: ErasureForm, consent?: ConsentForm) => {
    const p = c.get('principal');
    const result = await deps.core.queries.get360(p.tenant, id);
    if (result.kind === 'redirect') return survivorRedirect(c, result, id, '/privacy');
    const audit = p.scopes.has('admin') ? (await deps.core.gdpr.auditLog(p.tenant, { customerId: id, limit: 100 })).entries : undefined;
    return page(
      c,
      'Privacy',
      id,
      'privacy',
      <PrivacyPage
        c={result.customer}
        csrf={c.var.session.csrf}
        notice={erase || consent ? undefined : doneNotice(c.req.query('done'), c.req.query('purpose'), result.customer)}
        audit={audit ? <AuditTable entries={audit} /> : undefined}
        erase={erase}
        consent={consent}
      />,
      erase?.error || consent?.error ? 400 : 200,
    );
  };

  // a customer's privacy page by its id: the way in for a token with gdpr alone (search by identifier needs read, as the API's lookup does)
  app.get('/privacy-requests', needs('gdpr'), async (c) => {
    const p = c.get('principal');
    const id = (c.req.query('id') ?? '').trim();
    let notFound: string | undefined;
    if (id) {
      try {
        const found = await deps.core.queries.get360(p.tenant, id);
        return c.redirect(customerUrl(c, found.kind === 'redirect' ? found.survivorId : found.customer.customerId, '/privacy'), 303);
      } catch (e) {
        if (!(e instanceof DomainError && (e.code === 'CUSTOMER_NOT_FOUND' || e.code === 'CUSTOMER_ERASED'))) throw e;
        notFound = e.message;
      }
    }
    return render(
      c,
      <Layout title="Privacy requests" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Privacy requests</h1>
        <p>
          Open a customer's privacy page (access export, restriction, consent, erasure) by the customer id.
          {p.scopes.has('read')
            ? ' Search finds a customer by an identifier too.'
            : ' Finding a customer by an identifier (an email, a phone) needs the read scope.'}
        </p>
        {notFound ? (
          <p class="error" role="alert" id="privacy-id-error">
            No customer found: {notFound}.
          </p>
        ) : null}
        <form method="get" action={`${consoleBase(c)}/privacy-requests`}>
          <label for="privacy-id">Customer id</label>
          <input
            id="privacy-id"
            name="id"
            type="text"
            required
            autocomplete="off"
            value={id}
            {...(notFound ? { 'aria-invalid': 'true', 'aria-describedby': 'privacy-id-error' } : {})}
          />{' '}
          <button type="submit">Open the privacy page</button>
        </form>
      </Layout>,
      notFound ? 404 : 200,
    );
  });

  app.get('/customers/:id/privacy', needs('gdpr'), (c) => privacyPage(c, c.req.param('id')));

  app.get('/customers/:id/export', needs('gdpr'), async (c) => {
    const p = c.get('principal');
    const doc = await deps.core.export.export(p.tenant, c.req.param('id'), { actor: p.id });
    return c.body(JSON.stringify(doc, null, 2), 200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="customer-${doc.metadata.customerId}.json"`,
      'Cache-Control': 'no-store',
    });
  });

  app.post('/customers/:id/restriction', needs('gdpr'), async (c) => {
    const p = c.get('principal');
    const id = c.req.param('id');
    const form = await c.req.parseBody();
    const options = { actor: p.id, reason: reasonCode(field(form, 'reason')) };
    const on = field(form, 'restrict') === 'on';
    const done = on ? await deps.core.gdpr.restrict(p.tenant, id, options) : await deps.core.gdpr.unrestrict(p.tenant, id, options);
    return c.redirect(doneUrl(c, done.customerId, `${done.restricted ? 'restricted' : 'unrestricted'}${done.changed ? '' : '-already'}`), 303);
  });

  app.post('/customers/:id/consents', needs(['gdpr', 'admin']), async (c) => {
    const p = c.get('principal');
    const form = await c.req.parseBody();
    const sent = { purpose: field(form, 'purpose'), status: field(form, 'status'), source: field(form, 'source') };
    const parsed = ConsentRequest.safeParse({ ...sent, source: sent.source || undefined });
    if (!parsed.success) {
      // a refused form comes back with what was typed, the refused field named (nothing is recorded)
      const issue = parsed.error.issues[0]!;
      const name = issue.path[0] === 'status' || issue.path[0] === 'source' ? issue.path[0] : 'purpose';
      const message =
        name === 'status'
          ? 'choose granted or withdrawn'
          : name === 'source'
            ? issue.message
            : sent.purpose === ''
              ? 'a purpose is required (spaces alone are none)'
              : `a purpose is at most 64 characters (this one has ${sent.purpose.length})`;
      // the privacy page is gdpr's: a token with admin alone is told the refusal, not shown the page
      if (!p.scopes.has('gdpr')) throw new HttpError('VALIDATION_FAILED', `consent not recorded: ${message}`, [{ path: name, message }]);
      return privacyPage(c, c.req.param('id'), undefined, { ...sent, error: { field: name, message } });
    }
    const { operationId: _, ...request } = parsed.data;
    const done = await deps.core.consents.record(p.tenant, c.req.param('id'), request, { actor: p.id });
    return c.redirect(doneUrl(c, done.customerId, `consent-${done.status}`, `&purpose=${encodeURIComponent(done.purpose)}`), 303);
  });

  app.post('/customers/:id/erase', needs('gdpr'), async (c) => {
    const p = c.get('principal');
    const id = c.req.param('id');
    const form = await c.req.parseBody();
    // a refused form comes back with what was typed, the refused field named (nothing is erased)
    const sent = { confirm: field(form, 'confirm'), reason: field(form, 'reason') };
    if (sent.confirm !== id)
      return privacyPage(c, id, {
        ...sent,
        error: { field: 'confirm', message: `to erase, type the customer id (${id}) exactly into the confirmation field` },
      });
    if (sent.reason && !ReasonCode.safeParse(sent.reason).success)
      return privacyPage(c, id, {
        ...sent,
        error: { field: 'reason', message: 'the reason must be a reason code (letters, digits, _ . : -, at most 64), never free text' },
      });
    const receipt = await deps.core.gdpr.erase(p.tenant, id, { actor: p.id, reason: sent.reason || undefined });
    deps.logger?.info('customer erased', { principal: p.id, erasureId: receipt.erasureId, customers: receipt.customers.length });
    return render(
      c,
      <Layout title="Erasure receipt" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <ErasureReceiptPage receipt={receipt} />
        <p>
          Erased <When at={receipt.erasedAt} />.{' '}
          {p.scopes.has('read') ? <a href={`${consoleBase(c)}/search`}>Back to search</a> : <a href={`${consoleBase(c)}/privacy-requests`}>Privacy requests</a>}
        </p>
      </Layout>,
    );
  });
};
