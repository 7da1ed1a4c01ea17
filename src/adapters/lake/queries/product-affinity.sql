-- 8. Product affinity (market basket): pairs of products bought in the same order, in at least
-- $min_orders orders, with support (share of all orders), confidence each way and lift.
WITH baskets AS (
  SELECT DISTINCT l.order_id, l.product_id
  FROM fact_order_line l
  JOIN counted_orders c ON c.event_id = l.event_id
  WHERE l.observed_at <= $now_ms
),
total AS (
  SELECT count(DISTINCT order_id) AS orders FROM baskets
),
single AS (
  SELECT product_id, count(*) AS orders FROM baskets GROUP BY product_id
),
pairs AS (
  SELECT a.product_id AS product_a, b.product_id AS product_b, count(*) AS orders
  FROM baskets a
  JOIN baskets b ON b.order_id = a.order_id AND a.product_id < b.product_id
  GROUP BY a.product_id, b.product_id
)
SELECT
  p.product_a,
  p.product_b,
  p.orders,
  round(CAST(p.orders AS DOUBLE) / t.orders, 6) AS support,
  round(CAST(p.orders AS DOUBLE) / sa.orders, 4) AS confidence_a_to_b,
  round(CAST(p.orders AS DOUBLE) / sb.orders, 4) AS confidence_b_to_a,
  round(CAST(p.orders AS DOUBLE) * t.orders / (CAST(sa.orders AS DOUBLE) * sb.orders), 4) AS lift
FROM pairs p
CROSS JOIN total t
JOIN single sa ON sa.product_id = p.product_a
JOIN single sb ON sb.product_id = p.product_b
WHERE p.orders >= $min_orders
ORDER BY lift DESC, p.orders DESC, p.product_a, p.product_b
