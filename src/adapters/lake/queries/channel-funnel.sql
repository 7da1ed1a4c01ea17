-- 6. Channel conversion funnel: per channel, sessions (a customer's active day on the channel),
-- then product views, then cart adds, then orders, with the step-to-step conversion rates.
WITH activity AS (
  SELECT customer_id, channel, date_key, observed_at FROM fact_view
  UNION ALL SELECT customer_id, channel, date_key, observed_at FROM fact_product_event
  UNION ALL SELECT customer_id, channel, date_key, observed_at FROM fact_tracked_event
  UNION ALL SELECT customer_id, channel, date_key, observed_at FROM fact_order
),
sessions AS (
  SELECT a.channel, count(DISTINCT concat(m.survivor_id, '|', CAST(a.date_key AS VARCHAR))) AS sessions
  FROM activity a
  JOIN dim_customer m ON m.customer_id = a.customer_id
  WHERE a.observed_at <= $now_ms
  GROUP BY a.channel
),
steps AS (
  SELECT
    channel,
    sum(CASE WHEN action = 'viewed' THEN 1 ELSE 0 END) AS product_views,
    sum(CASE WHEN action = 'added' THEN 1 ELSE 0 END) AS cart_adds
  FROM fact_product_event
  WHERE observed_at <= $now_ms
  GROUP BY channel
),
ordered AS (
  SELECT channel, count(*) AS orders FROM counted_orders WHERE observed_at <= $now_ms GROUP BY channel
)
SELECT
  ch.channel,
  coalesce(s.sessions, 0) AS sessions,
  coalesce(p.product_views, 0) AS product_views,
  coalesce(p.cart_adds, 0) AS cart_adds,
  coalesce(o.orders, 0) AS orders,
  CASE WHEN s.sessions > 0 THEN round(CAST(coalesce(p.product_views, 0) AS DOUBLE) / s.sessions, 4) END AS view_rate,
  CASE WHEN p.product_views > 0 THEN round(CAST(p.cart_adds AS DOUBLE) / p.product_views, 4) END AS cart_rate,
  CASE WHEN p.cart_adds > 0 THEN round(CAST(coalesce(o.orders, 0) AS DOUBLE) / p.cart_adds, 4) END AS order_rate,
  CASE WHEN s.sessions > 0 THEN round(CAST(coalesce(o.orders, 0) AS DOUBLE) / s.sessions, 4) END AS session_conversion
FROM dim_channel ch
LEFT JOIN sessions s ON s.channel = ch.channel
LEFT JOIN steps p ON p.channel = ch.channel
LEFT JOIN ordered o ON o.channel = ch.channel
WHERE coalesce(s.sessions, 0) > 0
ORDER BY sessions DESC, ch.channel
