import type { CustomerQueries } from '../../../application/customers/customer.queries.js';
import type { Principal } from '../../../application/ports/access.port.js';
import { CsrfField, useBase, When } from './layout.js';

// Why these identifiers are one customer, drawn: customers on the left (the survivor first, with
// the customers merged into it, each merge labelled with its rule), identifiers on the right,
// each linked to the customer that first claimed it by the event that linked it.

export type Explanation = Extract<Awaited<ReturnType<CustomerQueries['explain']>>, { status: 'active' }>;

const ROW = 46;
const short = (s: string, n = 26) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export const IdentityGraph = (p: { x: Explanation }) => {
  const customers = [p.x.customerId, ...p.x.members];
  const ids = p.x.identifiers;
  const height = Math.max(customers.length, ids.length) * ROW + 30;
  const cy = (i: number) => 30 + i * ROW;
  const customerAt = new Map(customers.map((c, i) => [c, cy(i)]));
  const mergeOf = new Map(p.x.merges.map((m) => [m.absorbedId, m]));
  return (
    <svg
      class="graph"
      width={860}
      height={height}
      viewBox={`0 0 860 ${height}`}
      role="img"
      aria-label={`Identity graph: ${customers.length} customers, ${ids.length} identifiers, ${p.x.merges.length} merges`}
    >
      <title>Identity graph</title>
      {ids.map((id, i) => {
        const from = customerAt.get(id.claimedBy) ?? cy(0);
        return (
          <g>
            <line class="edge" x1={300} y1={from} x2={560} y2={cy(i)} />
            <text x={380} y={(from + cy(i)) / 2 - 4}>
              {short(id.linkedBy ? `${id.linkedBy.source} ${id.linkedBy.eventId.slice(-8)}` : id.viaMerge ? 'via merge' : '', 24)}
            </text>
          </g>
        );
      })}
      {customers.slice(1).map((c) => {
        const m = mergeOf.get(c) ?? p.x.merges.find((mm) => mm.absorbedMembers.includes(c));
        const y = customerAt.get(c)!;
        return (
          <g>
            <path class="edge merge" d={`M 20 ${cy(0)} C 0 ${cy(0)}, 0 ${y}, 20 ${y}`} fill="none" />
            <text x={24} y={y + 26}>
              {m ? `merged: ${m.evidence.rule}${m.evidence.forced ? ' (forced)' : ''}` : 'member'}
            </text>
          </g>
        );
      })}
      {customers.map((c, i) => (
        <g>
          <rect class="node-customer" x={20} y={cy(i) - 14} width={280} height={28} rx={6} />
          <text x={28} y={cy(i) + 4}>
            {`${i === 0 ? 'survivor ' : ''}${short(c, 40)}`}
          </text>
        </g>
      ))}
      {ids.map((id, i) => (
        <g>
          <rect class="node-identifier" x={560} y={cy(i) - 14} width={290} height={28} rx={14} />
          <text x={572} y={cy(i) + 4}>
            {short(`${id.type}: ${id.value ?? '(unreadable)'}`, 44)}
          </text>
        </g>
      ))}
    </svg>
  );
};

export const IdentityPage = (p: { x: Explanation; viewer: Principal; csrf: string }) => {
  const base = useBase();
  const admin = p.viewer.scopes.has('admin');
  const id = encodeURIComponent(p.x.customerId);
  return (
    <>
      <IdentityGraph x={p.x} />
      <h2>Merges</h2>
      {p.x.merges.length === 0 ? <p class="muted">No merge.</p> : null}
      <table>
        <tbody>
          {p.x.merges.map((m) => (
            <tr>
              <td>
                <When at={m.at} />
              </td>
              <td>
                <code>{m.absorbedId}</code> merged in by rule <strong>{m.evidence.rule}</strong>
                {m.evidence.triggeringEventId ? (
                  <>
                    , event <code>{m.evidence.triggeringEventId}</code>
                  </>
                ) : null}
                {m.evidence.actor ? `, by ${m.evidence.actor}` : ''}
                {m.evidence.reason ? ` (${m.evidence.reason})` : ''}; shared {m.evidence.identifiers.map((i) => i.type).join(', ') || 'nothing'}
              </td>
              <td>{admin ? <a href={`${base}/customers/${id}/unmerge?mergeId=${encodeURIComponent(m.mergeId)}`}>Unmerge…</a> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Identifiers</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Identifier</th>
            <th scope="col">Claimed by</th>
            <th scope="col">Linked</th>
            <th scope="col">By event</th>
          </tr>
        </thead>
        <tbody>
          {p.x.identifiers.map((i) => (
            <tr>
              <td>
                {i.type}: {i.value ?? '(unreadable)'}
              </td>
              <td class="mono">{i.claimedBy}</td>
              <td>
                <When at={i.linkedAt} />
              </td>
              <td class="mono">{i.linkedBy ? `${i.linkedBy.eventId} (${i.linkedBy.source})` : i.viaMerge ? `merge ${i.viaMerge.mergeId}` : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.x.rejections.length ? (
        <>
          <h2>Rejected identifiers</h2>
          <ul>
            {p.x.rejections.map((r) => (
              <li>
                {r.type}: {r.value ?? '(unreadable)'}: {r.reason} <When at={r.at} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {admin ? (
        <>
          <h2>Merge another customer into this one</h2>
          <form method="post" action={`${base}/customers/${id}/merge`}>
            <CsrfField csrf={p.csrf} />
            <label for="otherId">Customer id to merge in</label>
            <input id="otherId" name="otherId" type="text" required />
            <label for="merge-reason">Reason</label>
            <input id="merge-reason" name="reason" type="text" required />
            <p>
              <input id="force" name="force" type="checkbox" value="true" />{' '}
              <label for="force" class="inline">
                Force past identity limits (recorded as forced)
              </label>
            </p>
            <button type="submit">Merge</button>
          </form>
        </>
      ) : null}
    </>
  );
};
