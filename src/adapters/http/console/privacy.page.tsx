import type { Child } from 'hono/jsx';
import type { Customer360Response } from '../../../application/customers/customer360.presenter.js';
import type { ErasureReceipt } from '../../../application/ports/erasure-ledger.port.js';
import { CsrfField, useBase } from './layout.js';

// The privacy officer's page for one customer: the access export, restriction of processing,
// consent recording and erasure behind a typed confirmation (the customer id, typed in full).

export const PrivacyPage = (p: { c: Customer360Response; csrf: string; notice?: string | undefined; audit?: Child }) => {
  const url = `${useBase()}/customers/${encodeURIComponent(p.c.customerId)}`;
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
      <form method="post" action={`${url}/restriction`} class="inline">
        <CsrfField csrf={p.csrf} />
        <input type="hidden" name="restrict" value="on" />
        <button type="submit">Restrict processing</button>
      </form>{' '}
      <form method="post" action={`${url}/restriction`} class="inline">
        <CsrfField csrf={p.csrf} />
        <input type="hidden" name="restrict" value="off" />
        <button type="submit">Lift the restriction</button>
      </form>
      <h2>Record a consent decision</h2>
      <form method="post" action={`${url}/consents`}>
        <CsrfField csrf={p.csrf} />
        <label for="purpose">Purpose</label>
        <input id="purpose" name="purpose" type="text" required />
        <label for="status">Decision</label>
        <select id="status" name="status">
          <option value="granted">granted</option>
          <option value="withdrawn">withdrawn</option>
        </select>
        <label for="source">Source system (optional)</label>
        <input id="source" name="source" type="text" />
        <p>
          <button type="submit">Record consent</button>
        </p>
      </form>
      <h2>Erasure</h2>
      <p>
        Erasing destroys the keys of the whole identity cluster ({[p.c.customerId, ...p.c.aliases].length} customer ids): it cannot be undone. Type the customer
        id <code>{p.c.customerId}</code> to confirm.
      </p>
      <form method="post" action={`${url}/erase`}>
        <CsrfField csrf={p.csrf} />
        <label for="confirm">Customer id, typed to confirm</label>
        <input id="confirm" name="confirm" type="text" autocomplete="off" required />
        <label for="erase-reason">Reason code (optional, e.g. art17-request)</label>
        <input id="erase-reason" name="reason" type="text" />
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
