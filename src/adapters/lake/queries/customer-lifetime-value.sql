-- 1. Customer lifetime value, with segmentation. One row per customer (merged ids counted under
-- their survivor), as of $now_ms: a customer first seen after it is not yet one. CLV is the revenue
-- in $currency; segments come from fixed revenue thresholds.
WITH customers AS (
  SELECT survivor_id AS customer_id, min(first_seen_at) AS first_seen_at
  FROM dim_customer
  GROUP BY survivor_id
),
orders AS (
  SELECT o.survivor_id AS customer_id, o.currency, o.revenue_minor, o.observed_at, o.date_key
  FROM counted_orders o
  WHERE o.observed_at <= $now_ms
),
per_customer AS (
  SELECT
    customer_id,
    count(*) AS orders,
    sum(CASE WHEN currency = $currency THEN revenue_minor ELSE 0 END) AS revenue_minor,
    sum(CASE WHEN currency = $currency THEN 1 ELSE 0 END) AS currency_orders,
    min(date_key) AS first_order_date,
    max(date_key) AS last_order_date,
    min(observed_at) AS first_order_at
  FROM orders
  GROUP BY customer_id
)
SELECT
  c.customer_id,
  coalesce(p.orders, 0) AS orders,
  coalesce(p.revenue_minor, 0) AS revenue_minor,
  CAST(round(CAST(coalesce(p.revenue_minor, 0) AS DOUBLE) / greatest(1, coalesce(p.currency_orders, 0))) AS BIGINT) AS average_order_value_minor,
  p.first_order_date,
  p.last_order_date,
  CAST(floor(CAST($now_ms - p.first_order_at AS DOUBLE) / 86400000) AS BIGINT) AS tenure_days,
  coalesce(p.revenue_minor, 0) AS clv_minor,
  CASE
    WHEN coalesce(p.orders, 0) = 0 THEN 'Prospect'
    WHEN p.revenue_minor >= $clv_high_minor THEN 'High'
    WHEN p.revenue_minor >= $clv_medium_minor THEN 'Medium'
    ELSE 'Low'
  END AS segment
FROM customers c
LEFT JOIN per_customer p ON p.customer_id = c.customer_id
WHERE c.first_seen_at IS NULL OR c.first_seen_at <= $now_ms
ORDER BY clv_minor DESC, c.customer_id
