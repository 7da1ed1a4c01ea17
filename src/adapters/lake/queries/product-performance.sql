-- 4. Product performance matrix: per product (with its category) the units sold, the line revenue
-- in $currency, distinct buyers, product views, and the view-to-purchase rate (orders holding the
-- product per product view; null without views).
WITH counted_orders AS (
  -- each order once per customer (merged ids under their survivor): a row repeating an order_id the
  -- customer already has (a retry, a reloaded thank-you page) stays in the lake and is not counted;
  -- the earliest by (observed_at, event_id) is, as in the 360 view
  SELECT event_id, order_id, survivor_id, channel, currency, revenue_minor, observed_at, date_key
  FROM (
    SELECT o.*, m.survivor_id,
      row_number() OVER (PARTITION BY m.survivor_id, o.order_id ORDER BY o.observed_at, o.event_id) AS nth
    FROM fact_order o
    JOIN dim_customer m ON m.customer_id = o.customer_id
  ) ranked
  WHERE nth = 1
),
sold AS (
  SELECT
    l.product_id,
    sum(l.quantity) AS units,
    sum(CASE WHEN l.currency = $currency THEN l.quantity * coalesce(l.price_minor, 0) ELSE 0 END) AS revenue_minor,
    count(DISTINCT c.survivor_id) AS buyers,
    count(DISTINCT l.order_id) AS orders
  FROM fact_order_line l
  JOIN counted_orders c ON c.event_id = l.event_id
  WHERE l.observed_at <= $now_ms
  GROUP BY l.product_id
),
viewed AS (
  SELECT product_id, count(*) AS views
  FROM fact_product_event
  WHERE action = 'viewed' AND observed_at <= $now_ms
  GROUP BY product_id
)
SELECT
  p.product_id,
  p.category,
  coalesce(s.units, 0) AS units,
  coalesce(s.revenue_minor, 0) AS revenue_minor,
  coalesce(s.buyers, 0) AS buyers,
  coalesce(v.views, 0) AS views,
  CASE WHEN coalesce(v.views, 0) > 0 THEN round(CAST(coalesce(s.orders, 0) AS DOUBLE) / v.views, 4) END AS view_to_purchase_rate
FROM dim_product p
LEFT JOIN sold s ON s.product_id = p.product_id
LEFT JOIN viewed v ON v.product_id = p.product_id
ORDER BY revenue_minor DESC, p.product_id
