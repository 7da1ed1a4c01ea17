import type { Child } from 'hono/jsx';
import type { Customer360Response } from '../../../application/customers/customer360.presenter.js';
import type { ErasureReceipt } from '../../../application/ports/erasure-ledger.port.js';
import { CsrfField, useBase } from './layout.js';

// The privacy officer's page for one customer: the access export, restriction of processing,
// consent recording and erasure behind a typed confirmation (the customer id, typed in full).

/**
 * The reason codes the API takes (letters, digits, _ . : -, at most 64: never free text), as an HTML
 * pattern the browser checks before the form is sent (no script: the CSP allows none).
 */
export const REASON_CODE_PATTERN = '[A-Za-z0-9_.:\\-]{1,64}';

/** What the erasure form held when the server refused it, and which field it refused. */
export type ErasureForm = {
  readonly confirm: string;
  readonly reason: string;
  readonly error?: { readonly field: 'confirm' | 'reason'; readonly message: string } | undefined;
};

/** What the consent form held when the server refused it, and which field it refused. */
export type ConsentForm = {
  readonly purpose: string;
  readonly status: string;
  readonly source: string;
  readonly error?: { readonly field: 'purpose' | 'status' | 'source'; readonly message: string } | undefined;
};

const consentInvalid = (form: ConsentForm | undefined, name: 'purpose' | 'status' | 'source') =>
  form?.error?.field === name ? { 'aria-invalid': 'true', 'aria-describedby': 'consent-error' } : {};

/** aria attributes of a form field the server refused, tied to the message that says why */
const invalid = (form: ErasureForm | undefined, name: 'confirm' | 'reason') =>
  form?.error?.field === name ? { 'aria-invalid': 'true', 'aria-describedby': 'erase-error' } : {};

export const PrivacyPage = (p: {
  c: Customer360Response;
  csrf: string;
  notice?: string | undefined;
  audit?: Child;
  erase?: ErasureForm | undefined;
  consent?: ConsentForm | undefined;
}) => {
  const url = `${useBase()}/customers/${encodeURIComponent(p.c.customerId)}`;
  const refused = p.erase?.error;
  return (
    <>
      {p.notice ? (
        <p class="success" role="status">
          Done: {p.notice}.
        </p>
      ) : null}
      <h2>Access export</h2>
      <p>
        <a href={`${url}/export`} download>
          Download everything held about this customer (JSON)
        </a>{' '}
        <span class="muted">(the audit log records the export)</span>
      </p>
      <h2>Restriction of processing</h2>
      <p>A restricted customer's data is kept and keeps arriving, but is not used for engagement.</p>
      <p role="status">
        {p.c.restriction.restricted ? (
          <strong>Processing is restricted (since {p.c.restriction.decidedAt}).</strong>
        ) : p.c.restriction.decidedAt ? (
          `Processing is not restricted (the restriction was lifted at ${p.c.restriction.decidedAt}).`
        ) : (
          'Processing is not restricted.'
        )}
      </p>
      {/* only the action that changes the state shown above */}
      <form method="post" action={`${url}/restriction`}>
        <CsrfField csrf={p.csrf} />
        <input type="hidden" name="restrict" value={p.c.restriction.restricted ? 'off' : 'on'} />
        <button type="submit">{p.c.restriction.restricted ? 'Lift the restriction' : 'Restrict processing'}</button>
      </form>
      <h2>Record a consent decision</h2>
      {p.consent?.error ? (
        <p class="error" role="alert" id="consent-error">
          Not recorded: {p.consent.error.field}: {p.consent.error.message}
        </p>
      ) : null}
      <form method="post" action={`${url}/consents`}>
        <CsrfField csrf={p.csrf} />
        <label for="purpose">Purpose (at most 64 characters, e.g. marketing)</label>
        <input id="purpose" name="purpose" type="text" required maxlength={64} value={p.consent?.purpose ?? ''} {...consentInvalid(p.consent, 'purpose')} />
        <label for="status">Decision</label>
        <select id="status" name="status" {...consentInvalid(p.consent, 'status')}>
          <option value="granted" selected={p.consent?.status === 'granted'}>
            granted
          </option>
          <option value="withdrawn" selected={p.consent?.status === 'withdrawn'}>
            withdrawn
          </option>
        </select>
        <label for="source">Source system (optional: letters, digits, _ . : -, at most 64)</label>
        <input id="source" name="source" type="text" maxlength={64} value={p.consent?.source ?? ''} {...consentInvalid(p.consent, 'source')} />
        <p>
          <button type="submit">Record consent</button>
        </p>
      </form>
      <h2>Erasure</h2>
      <p>
        Erasing destroys the keys of the whole identity cluster ({p.c.aliases.length === 0 ? 'one customer id' : `${1 + p.c.aliases.length} customer ids`}): it
        cannot be undone. Type the customer id <code>{p.c.customerId}</code> to confirm.
      </p>
      {refused ? (
        <p class="error" role="alert" id="erase-error">
          Not erased: {refused.field === 'confirm' ? 'the confirmation' : 'the reason code'} ({refused.field}): {refused.message}
        </p>
      ) : null}
      <form method="post" action={`${url}/erase`}>
        <CsrfField csrf={p.csrf} />
        <label for="confirm">Customer id, typed to confirm</label>
        <input id="confirm" name="confirm" type="text" autocomplete="off" required value={p.erase?.confirm ?? ''} {...invalid(p.erase, 'confirm')} />
        <label for="erase-reason">Reason code (optional: letters, digits, _ . : -, at most 64, e.g. art17-request)</label>
        <input
          id="erase-reason"
          name="reason"
          type="text"
          pattern={REASON_CODE_PATTERN}
          maxlength={64}
          title="a reason code: letters, digits, _ . : - (at most 64), never free text"
          value={p.erase?.reason ?? ''}
          {...invalid(p.erase, 'reason')}
        />
        <p>
          <button type="submit" class="danger">
            Erase this customer
          </button>
        </p>
      </form>
      {p.audit ? (
        <>
          <h2>Audit log of this customer</h2>
          {p.audit}
        </>
      ) : null}
    </>
  );
};

export const ErasureReceiptPage = (p: { receipt: ErasureReceipt }) => {
  const r = p.receipt;
  return (
    <>
      <h1>Erasure receipt</h1>
      <div class="success" role="status">
        <p>
          Erasure <code>{r.erasureId}</code> of <code>{r.requestedId}</code>, by {r.actor}.
        </p>
      </div>
      <table>
        <tbody>
          <tr>
            <th scope="row">Customers erased</th>
            <td class="mono">{r.customers.join(', ')}</td>
          </tr>
          {Object.entries(r.removed).map(([k, v]) => (
            <tr>
              <th scope="row">{k} removed</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
};
