import type { Customer360Response } from '../../../application/customers/customer360.presenter.js';
import type { Principal } from '../../../application/ports/access.port.js';
import type { ScoreConfig } from '../../../domain/projection/scores.js';
import { minorDigits } from '../../../domain/shared/bounds.js';
import { useBase, When } from './layout.js';

// The customer 360: everything the view holds, as the API's GET /v1/customers/{id} presents it,
// with what drives each score next to it.

/** a count with its noun: 1 order, 2 orders */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export const CustomerTabs = (p: { id: string; at: 'profile' | 'identity' | 'privacy'; viewer: Principal }) => {
  const base = useBase();
  const href = (tab: string) => `${base}/customers/${encodeURIComponent(p.id)}${tab}`;
  const current = (tab: typeof p.at) => (p.at === tab ? 'page' : undefined);
  return (
    <nav class="tabs" aria-label="Customer">
      {p.viewer.scopes.has('read') ? (
        <>
          <a href={href('')} aria-current={current('profile')}>
            360
          </a>
          <a href={href('/identity')} aria-current={current('identity')}>
            Identity
          </a>
        </>
      ) : null}
      {p.viewer.scopes.has('gdpr') ? (
        <a href={href('/privacy')} aria-current={current('privacy')}>
          Privacy
        </a>
      ) : null}
    </nav>
  );
};

type Timeline = { items: Customer360Response['timeline']; next?: string };

const Table = (p: { head: readonly string[]; rows: readonly (readonly unknown[])[]; empty: string }) =>
  p.rows.length === 0 ? (
    <p class="muted">{p.empty}</p>
  ) : (
    <table>
      <thead>
        <tr>
          {p.head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr>
            {r.map((cell) => (
              <td>{cell as string}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );

export const CustomerPage = (p: { c: Customer360Response; timeline: Timeline; config: ScoreConfig; mergedFrom?: string | undefined }) => {
  const base = useBase();
  const c = p.c;
  const s = c.scores;
  const consentHistory = c.timeline.filter((t) => t.type === 'ConsentGranted' || t.type === 'ConsentWithdrawn');
  return (
    <>
      {p.mergedFrom && c.aliases.includes(p.mergedFrom) ? (
        <p class="notice" role="status">
          {p.mergedFrom} was merged into this customer: you are looking at the survivor, {c.customerId}.
        </p>
      ) : null}
      <p class="muted">
        First seen <When at={c.firstSeenAt} />, last seen <When at={c.lastSeenAt} />, {counted(c.eventCount, 'event')}, view version {c.version}
        {c.aliases.length ? `; merged-away ids: ${c.aliases.join(', ')}` : ''}.
      </p>
      <div class="grid">
        <section class="card" aria-labelledby="orders">
          <h2 id="orders">Orders</h2>
          <p>
            <span class="stat">{c.orders.count}</span> {c.orders.count === 1 ? 'order' : 'orders'}; revenue{' '}
            {Object.entries(c.orders.revenue)
              .map(([cur, v]) => `${v.toFixed(minorDigits(cur))} ${cur}`)
              .join(', ') || '0'}
          </p>
          <p>
            AOV{' '}
            {Object.entries(c.orders.averageOrderValue)
              .map(([cur, v]) => `${v.toFixed(minorDigits(cur))} ${cur}`)
              .join(', ') || '0'}{' '}
            · CLV {s.clv.toFixed(minorDigits(s.currency))} {s.currency}
          </p>
          {Object.keys(c.orders.revenue).some((cur) => cur !== s.currency) ? (
            <p class="muted">
              CLV and the monetary score count orders in {s.currency} only (C360_SCORE_CURRENCY); the revenue in{' '}
              {Object.keys(c.orders.revenue)
                .filter((cur) => cur !== s.currency)
                .join(', ')}{' '}
              is not in them.
            </p>
          ) : null}
          <p class="muted">
            First order <When at={c.orders.firstOrderAt} />, last <When at={c.orders.lastOrderAt} />
          </p>
          {c.orders.repeated > 0 ? (
            <p class="muted">
              {counted(c.orders.repeated, 'call')} sent an order again that is counted once (same order id:{' '}
              {Object.entries(c.orders.repeatsByOrderId)
                .map(([id, n]) => `${id} ${n}x`)
                .join(', ')}
              ): kept on the timeline, not counted.
            </p>
          ) : null}
        </section>
        <section class="card" aria-labelledby="scores">
          <h2 id="scores">RFM and churn</h2>
          <p>
            <span class="stat">{s.rfm.segment}</span> R{s.rfm.recency} F{s.rfm.frequency} M{s.rfm.monetary} · churn risk {(s.churnRisk * 100).toFixed(0)}%
          </p>
          <ul>
            <li>
              Recency {s.rfm.recency}: {s.daysSinceLastOrder === undefined ? 'no order yet' : `${counted(s.daysSinceLastOrder, 'day')} since the last order`} (5
              at ≤ {p.config.recencyDays.join(' / ')} days)
            </li>
            <li>
              Frequency {s.rfm.frequency}: {counted(c.orders.count, 'order')} (2 to 5 from {p.config.frequencyOrders.join(' / ')})
            </li>
            <li>
              Monetary {s.rfm.monetary}: {s.clv.toFixed(minorDigits(s.currency))} {s.currency} (2 to 5 from{' '}
              {p.config.monetaryMinor.map((m) => m / 10 ** minorDigits(s.currency)).join(' / ')})
            </li>
            <li>
              Churn:{' '}
              {c.orders.count >= 2
                ? `${counted(s.daysSinceLastOrder ?? 0, 'day')} since the last order against the customer's usual interval between orders`
                : `${s.daysSinceLastSeen === undefined ? 'no days' : counted(s.daysSinceLastSeen, 'day')} without activity of ${p.config.churnInactiveDays} that make a one-time customer fully at risk`}
            </li>
          </ul>
        </section>
      </div>
      <h2>Traits</h2>
      <Table
        head={['Trait', 'Value', 'Source', 'Observed']}
        rows={Object.entries(c.traits).map(([k, t]) => [
          k,
          c.traitsNotHeld.includes(k) ? (
            <>
              {show(t.value)} <strong>(not this customer's identifier: refused or unlinked, see Identity)</strong>
            </>
          ) : (
            show(t.value)
          ),
          t.source,
          <When at={t.observedAt} />,
        ])}
        empty="No traits."
      />
      <h2>Identifiers</h2>
      <Table
        head={['Type', 'Value', 'First seen', 'Source', 'Event']}
        rows={c.identifiers.map((i) => [i.type, i.value ?? '(not readable)', <When at={i.firstSeenAt} />, i.source, <code>{i.eventId}</code>])}
        empty="No identifiers."
      />
      <h2>Consents</h2>
      <Table
        head={['Purpose', 'Status', 'Since', 'Source']}
        rows={Object.entries(c.consents).map(([purpose, k]) => [purpose, k.status, <When at={k.at} />, k.source])}
        empty="No consent recorded."
      />
      {consentHistory.length ? (
        <>
          <h3>Consent history (recent)</h3>
          <Table head={['When', 'Decision']} rows={consentHistory.map((t) => [<When at={t.observedAt} />, t.title])} empty="" />
        </>
      ) : null}
      <div class="grid">
        <section>
          <h2>Interests</h2>
          <Table head={['Interest', 'Count', 'Last seen']} rows={c.interests.map((i) => [i.name, i.count, <When at={i.lastSeenAt} />])} empty="No interests." />
        </section>
        <section>
          <h2>Locations</h2>
          <Table
            head={['Place', 'Count', 'Last seen']}
            rows={c.locations.map((l) => [[l.city, l.region, l.country].filter(Boolean).join(', '), l.count, <When at={l.lastSeenAt} />])}
            empty="No locations."
          />
        </section>
      </div>
      <h2>Engagement decisions</h2>
      <p>
        {c.engagement.sent} sent, {c.engagement.suppressed} suppressed.
      </p>
      <Table
        head={['Decided', 'Outcome', 'Why', 'Offer', 'Channel', 'Triggered by']}
        rows={c.engagement.decisions.map((d) => [
          <When at={d.decidedAt} />,
          d.outcome,
          d.reason,
          d.offerTitle ?? d.offerId ?? '',
          d.channel ?? '',
          d.trigger.type,
        ])}
        empty="No engagement decision yet."
      />
      <h2>Timeline</h2>
      <Table
        head={['When', 'What', 'Channel']}
        rows={p.timeline.items.map((t) => [<When at={t.observedAt} />, t.title, t.channel])}
        empty="Nothing on the timeline."
      />
      {p.timeline.next ? (
        <a href={`${base}/customers/${encodeURIComponent(c.customerId)}?cursor=${encodeURIComponent(p.timeline.next)}`} rel="next">
          Older events
        </a>
      ) : null}
    </>
  );
};
