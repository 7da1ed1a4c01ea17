-- 4. Product performance matrix: per product (with its category) the units sold, the line revenue
-- in $currency, distinct buyers, product views, and the view-to-purchase rate (orders holding the
-- product per product view; null without views).
WITH sold AS (
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
