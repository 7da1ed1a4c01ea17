-- 7. RFM segmentation, as the 360 view scores it: recency from days since the last order (5 at or
-- below $recency_days_1, ...), frequency from the order count and monetary from the revenue in
-- $currency (2 at or above the first threshold, ... 5 at or above the fourth), then the segment.
WITH customers AS (
  -- as of $now_ms: a customer first seen after it is not yet one
  SELECT survivor_id AS customer_id, min(first_seen_at) AS first_seen_at
  FROM dim_customer
  GROUP BY survivor_id
),
orders AS (
  SELECT
    o.survivor_id AS customer_id,
    count(*) AS orders,
    sum(CASE WHEN o.currency = $currency THEN o.revenue_minor ELSE 0 END) AS revenue_minor,
    max(o.observed_at) AS last_order_at
  FROM counted_orders o
  WHERE o.observed_at <= $now_ms
  GROUP BY o.survivor_id
),
facts AS (
  SELECT
    c.customer_id,
    coalesce(o.orders, 0) AS orders,
    coalesce(o.revenue_minor, 0) AS revenue_minor,
    CASE WHEN o.last_order_at IS NOT NULL THEN greatest(0, CAST($now_ms - o.last_order_at AS DOUBLE) / 86400000) END AS days_since_last_order
  FROM customers c
  LEFT JOIN orders o ON o.customer_id = c.customer_id
  WHERE c.first_seen_at IS NULL OR c.first_seen_at <= $now_ms
),
scores AS (
  SELECT
    facts.*,
    CASE
      WHEN days_since_last_order IS NULL THEN 1
      WHEN days_since_last_order <= $recency_days_1 THEN 5
      WHEN days_since_last_order <= $recency_days_2 THEN 4
      WHEN days_since_last_order <= $recency_days_3 THEN 3
      WHEN days_since_last_order <= $recency_days_4 THEN 2
      ELSE 1
    END AS recency,
    CASE
      WHEN orders >= $frequency_orders_4 THEN 5
      WHEN orders >= $frequency_orders_3 THEN 4
      WHEN orders >= $frequency_orders_2 THEN 3
      WHEN orders >= $frequency_orders_1 THEN 2
      ELSE 1
    END AS frequency,
    CASE
      WHEN revenue_minor >= $monetary_minor_4 THEN 5
      WHEN revenue_minor >= $monetary_minor_3 THEN 4
      WHEN revenue_minor >= $monetary_minor_2 THEN 3
      WHEN revenue_minor >= $monetary_minor_1 THEN 2
      ELSE 1
    END AS monetary
  FROM facts
)
SELECT
  customer_id,
  orders,
  revenue_minor,
  CAST(floor(days_since_last_order) AS BIGINT) AS days_since_last_order,
  recency,
  frequency,
  monetary,
  CASE
    WHEN orders = 0 THEN 'Prospect'
    WHEN recency >= 4 AND frequency >= 4 THEN 'Champions'
    WHEN recency >= 3 AND frequency >= 4 THEN 'Loyal'
    WHEN recency >= 4 AND frequency = 2 THEN 'New Customers'
    WHEN recency >= 4 THEN 'Potential Loyalists'
    WHEN recency = 3 AND frequency <= 2 THEN 'Promising'
    WHEN recency = 3 THEN 'Need Attention'
    WHEN recency <= 2 AND frequency >= 4 THEN CASE WHEN recency = 1 THEN 'Cannot Lose Them' ELSE 'At Risk' END
    WHEN recency = 2 THEN CASE WHEN frequency >= 3 THEN 'At Risk' ELSE 'Hibernating' END
    ELSE 'Lost'
  END AS segment
FROM scores
ORDER BY customer_id
