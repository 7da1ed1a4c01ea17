import type { CustomerQueries } from '../../../application/customers/customer.queries.js';
import type { Principal } from '../../../application/ports/access.port.js';
import type { Suggestion } from '../../../domain/matching/match-book.js';
import { CsrfField, useBase, When } from './layout.js';

// Why these identifiers are one customer, drawn: customers on the left (the survivor first, with
// the customers merged into it, each merge labelled with its rule), identifiers on the right,
// each linked to the customer that first claimed it by the event that linked it.

export type Explanation = Extract<Awaited<ReturnType<CustomerQueries['explain']>>, { status: 'active' }>;

const ROW = 46;
/** graph text is 11px monospace (the stylesheet): no glyph advances wider than this, so a label of n characters is at most n * CHAR_PX wide */
export const CHAR_PX = 7;
const PAD = 8;

/** East Asian wide and fullwidth characters and emoji take two cells of a monospace font */
const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u;

/** How many monospace cells a text takes. */
export const cells = (text: string): number => [...text].reduce((n, ch) => n + (WIDE.test(ch) ? 2 : 1), 0);

/** `text` cut to what `width` pixels hold, with an ellipsis when cut. */
export const fitLabel = (text: string, width: number): string => {
  const room = Math.max(1, Math.floor(width / CHAR_PX));
  if (cells(text) <= room) return text;
  let out = '';
  for (const ch of text) {
    if (cells(out + ch) > room - 1) break;
    out += ch;
  }
  return `${out}…`;
};

/** A label that stays inside `width` pixels from x; the full text, when cut, is its <title> (shown on hover). */
const Label = (p: { x: number; y: number; width: number; text: string; class?: string }) => {
  const shown = fitLabel(p.text, p.width);
  return (
    <text x={p.x} y={p.y} class={p.class}>
      {shown !== p.text ? <title>{p.text}</title> : null}
      {shown}
    </text>
  );
};

const CUSTOMER = { x: 20, width: 300 };
const IDENTIFIER = { x: 560, width: 290 };

export const IdentityGraph = (p: { x: Explanation }) => {
  const customers = [p.x.customerId, ...p.x.members];
  const ids = p.x.identifiers;
  const height = Math.max(customers.length, ids.length) * ROW + 30;
  const cy = (i: number) => 30 + i * ROW;
  const customerAt = new Map(customers.map((c, i) => [c, cy(i)]));
  // the merge that brought each member in: the survivor's own, or one a member made before it was
  // absorbed itself (nested), drawn from the member that holds it
  const mergeOf = new Map([
    ...p.x.merges.map((m) => [m.absorbedId, { ...m, heldBy: p.x.customerId }] as const),
    ...p.x.nestedMerges.map((m) => [m.absorbedId, m] as const),
  ]);
  const edgeFrom = CUSTOMER.x + CUSTOMER.width;
  return (
    <svg
      class="graph"
      width={860}
      height={height}
      viewBox={`0 0 860 ${height}`}
      role="img"
      aria-label={`Identity graph: ${customers.length} customers, ${ids.length} identifiers, ${p.x.merges.length + p.x.nestedMerges.length} merges`}
    >
      <title>Identity graph</title>
      {ids.map((id, i) => {
        const from = customerAt.get(id.claimedBy) ?? cy(0);
        return (
          <g>
            <line class="edge" x1={edgeFrom} y1={from} x2={IDENTIFIER.x} y2={cy(i)} />
            <Label
              x={edgeFrom + 70}
              y={(from + cy(i)) / 2 - 4}
              width={IDENTIFIER.x - edgeFrom - 70 - PAD}
              text={id.linkedBy ? `${id.linkedBy.source} ${id.linkedBy.eventId.slice(-8)}` : id.viaMerge ? 'via merge' : ''}
            />
          </g>
        );
      })}
      {customers.slice(1).map((c) => {
        const m = mergeOf.get(c);
        const y = customerAt.get(c)!;
        const from = (m && customerAt.get(m.heldBy)) ?? cy(0);
        const into = m && m.heldBy !== p.x.customerId ? ` into …${m.heldBy.slice(-8)}` : '';
        return (
          <g>
            <path class="edge merge" d={`M 20 ${from} C 0 ${from}, 0 ${y}, 20 ${y}`} fill="none" />
            <Label
              x={CUSTOMER.x + 4}
              y={y + 26}
              width={CUSTOMER.width - 4}
              text={m ? `merged${into}: ${m.evidence.rule}${m.evidence.forced ? ' (forced)' : ''}` : 'member'}
            />
          </g>
        );
      })}
      {customers.map((c, i) => (
        <g>
          {i === 0 ? <Label x={CUSTOMER.x} y={cy(0) - 18} width={CUSTOMER.width} text="survivor" class="caption" /> : null}
          <rect class={i === 0 ? 'node-customer survivor' : 'node-customer'} x={CUSTOMER.x} y={cy(i) - 14} width={CUSTOMER.width} height={28} rx={6} />
          <Label x={CUSTOMER.x + PAD} y={cy(i) + 4} width={CUSTOMER.width - 2 * PAD} text={c} />
        </g>
      ))}
      {ids.map((id, i) => (
        <g>
          <rect class="node-identifier" x={IDENTIFIER.x} y={cy(i) - 14} width={IDENTIFIER.width} height={28} rx={14} />
          <Label x={IDENTIFIER.x + 12} y={cy(i) + 4} width={IDENTIFIER.width - 12 - 14} text={`${id.type}: ${id.value ?? '(unreadable)'}`} />
        </g>
      ))}
    </svg>
  );
};

/** the other customer of a suggested pair */
export const otherOf = (s: Suggestion, id: string): string => (s.customerIds[0] === id ? s.customerIds[1] : s.customerIds[0]);

/** The rest of a merge's evidence after its rule: the event that triggered it, who, why, and the identifier types the two shared. */
const MergeEvidence = (p: {
  e: { triggeringEventId?: string | undefined; actor?: string | undefined; reason?: string | undefined; identifiers: readonly { type: string }[] };
}) => (
  <>
    {p.e.triggeringEventId ? (
      <>
        , event <code>{p.e.triggeringEventId}</code>
      </>
    ) : null}
    {p.e.actor ? `, by ${p.e.actor}` : ''}
    {p.e.reason ? ` (${p.e.reason})` : ''}; shared {p.e.identifiers.map((i) => i.type).join(', ') || 'nothing'}
  </>
);

/** A pair's evidence as a person reads it: each field's level and weight. */
const Evidence = (p: { s: Suggestion }) => (
  <span class="mono">{p.s.score.fields.map((f) => `${f.field} ${f.level} ${f.weight >= 0 ? '+' : ''}${f.weight.toFixed(1)}`).join(', ')}</span>
);

/**
 * Probable duplicates of a customer (or, on the review queue, of the tenant), each with its
 * probability and evidence; an admin accepts (merges) or rejects (never suggested again) each.
 */
export const MatchTable = (p: { id?: string | undefined; suggestions: readonly Suggestion[]; viewer: Principal; csrf: string }) => {
  const base = useBase();
  const admin = p.viewer.scopes.has('admin');
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{p.id ? 'Customer' : 'Customers'}</th>
          <th scope="col">Probability</th>
          <th scope="col">Verdict</th>
          <th scope="col">Evidence (field, level, weight)</th>
          {admin ? <th scope="col">Decision</th> : null}
        </tr>
      </thead>
      <tbody>
        {p.suggestions.map((s) => {
          const [from, other] = p.id ? [p.id, otherOf(s, p.id)] : s.customerIds;
          const to = (path: string) => `${base}/customers/${encodeURIComponent(from)}/matches/${path}`;
          return (
            <tr>
              <td class="mono">
                {p.id ? null : (
                  <>
                    <a href={`${base}/customers/${encodeURIComponent(from)}/identity`}>{from}</a>
                    {' ~ '}
                  </>
                )}
                <a href={`${base}/customers/${encodeURIComponent(other)}/identity`}>{other}</a>
              </td>
              <td>{s.score.probability.toFixed(4)}</td>
              <td>{s.verdict === 'auto_merge' ? 'above auto-merge' : 'review'}</td>
              <td>
                <Evidence s={s} />
              </td>
              {admin ? (
                <td>
                  <form method="post" action={to('accept')} class="inline">
                    <CsrfField csrf={p.csrf} />
                    <input type="hidden" name="otherId" value={other} />
                    <button type="submit" aria-label={`Accept: merge ${from} and ${other}`}>
                      Accept
                    </button>
                  </form>{' '}
                  <form method="post" action={to('reject')} class="inline">
                    <CsrfField csrf={p.csrf} />
                    <input type="hidden" name="otherId" value={other} />
                    <button type="submit" class="danger" aria-label={`Reject: ${from} and ${other} are two people`}>
                      Reject
                    </button>
                  </form>
                </td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
};

export const IdentityPage = (p: {
  x: Explanation;
  viewer: Principal;
  csrf: string;
  matches?: { readonly modelVersion: string; readonly suggestions: readonly Suggestion[] } | undefined;
}) => {
  const base = useBase();
  const admin = p.viewer.scopes.has('admin');
  const id = encodeURIComponent(p.x.customerId);
  return (
    <>
      <IdentityGraph x={p.x} />
      <h2>Merges</h2>
      {p.x.merges.length + p.x.nestedMerges.length === 0 ? <p class="muted">No merge.</p> : null}
      <table>
        <tbody>
          {p.x.merges.map((m) => (
            <tr>
              <td>
                <When at={m.at} />
              </td>
              <td>
                <code>{m.absorbedId}</code> merged in by rule <strong>{m.evidence.rule}</strong>
                <MergeEvidence e={m.evidence} />
              </td>
              <td>{admin ? <a href={`${base}/customers/${id}/unmerge?mergeId=${encodeURIComponent(m.mergeId)}`}>Unmerge…</a> : null}</td>
            </tr>
          ))}
          {p.x.nestedMerges.map((m) => (
            <tr>
              <td>
                <When at={m.at} />
              </td>
              <td>
                <code>{m.absorbedId}</code> merged into <code>{m.heldBy}</code> by rule <strong>{m.evidence.rule}</strong>
                <MergeEvidence e={m.evidence} />
              </td>
              <td>
                nested: undo {m.undoFirst.map((u) => `merge ${u.mergeId} on ${u.survivorId}`).join(', then ')} first, then this one on <code>{m.heldBy}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.x.unmerges.length > 0 ? (
        <>
          <h2>Merges undone</h2>
          <table>
            <tbody>
              {p.x.unmerges.map((u) => (
                <tr>
                  <td>
                    <When at={u.at} />
                  </td>
                  <td>
                    <code>{u.restoredId}</code> restored{u.actor ? `, by ${u.actor}` : ''}
                    {u.reason ? ` (${u.reason})` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
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
      {p.matches ? (
        <>
          <h2>Probable duplicates</h2>
          {p.matches.suggestions.length === 0 ? (
            <p class="muted">No probable duplicate (model {p.matches.modelVersion}).</p>
          ) : (
            <>
              <p>
                Scored by model {p.matches.modelVersion}. Accepting merges the two like a manual merge (an unmerge undoes it); rejecting records that they are
                two people, and the pair is not suggested again.
              </p>
              <MatchTable id={p.x.customerId} suggestions={p.matches.suggestions} viewer={p.viewer} csrf={p.csrf} />
            </>
          )}
        </>
      ) : null}
      {admin ? (
        <>
          <h2>Merge another customer into this one</h2>
          <MergeForm id={p.x.customerId} csrf={p.csrf} />
        </>
      ) : null}
    </>
  );
};

/** The manual merge form; with what was sent when the merge was refused, so it can be sent again (force is never ticked for the user). */
export const MergeForm = (p: { id: string; csrf: string; otherId?: string | undefined; reason?: string | undefined }) => {
  const base = useBase();
  return (
    <form method="post" action={`${base}/customers/${encodeURIComponent(p.id)}/merge`}>
      <CsrfField csrf={p.csrf} />
      <label for="otherId">Customer id to merge in</label>
      <input id="otherId" name="otherId" type="text" required value={p.otherId ?? ''} />
      <label for="merge-reason">Reason (kept encrypted in the customer's identity history, erased with the customer)</label>
      <input id="merge-reason" name="reason" type="text" required value={p.reason ?? ''} />
      <p>
        <input id="force" name="force" type="checkbox" value="true" />{' '}
        <label for="force" class="inline">
          Force past identity limits (recorded as forced)
        </label>
      </p>
      <button type="submit">Merge</button>
    </form>
  );
};

/** Accepting a suggested pair past an identity limit: offered only after the plain accept was refused, force ticked by the user. */
export const AcceptForcedForm = (p: { id: string; otherId: string; csrf: string }) => {
  const base = useBase();
  return (
    <form method="post" action={`${base}/customers/${encodeURIComponent(p.id)}/matches/accept`}>
      <CsrfField csrf={p.csrf} />
      <input type="hidden" name="otherId" value={p.otherId} />
      <p>
        <input id="accept-force" name="force" type="checkbox" value="true" required />{' '}
        <label for="accept-force" class="inline">
          Force past identity limits (recorded as forced)
        </label>
      </p>
      <button type="submit" aria-label={`Accept anyway: merge ${p.id} and ${p.otherId}, forced`}>
        Accept anyway
      </button>
    </form>
  );
};
