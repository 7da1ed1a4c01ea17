-- 5. Churn risk scoring, as the 360 view scores it: a repeat buyer is at risk once the gap since
-- the last order outgrows their usual interval; anyone else by days without activity against
-- $churn_inactive_days. Bands from fixed thresholds. As of $now_ms: a customer first seen after it
-- is not yet one, and one seen again after it was last seen at their latest activity in the facts
-- up to it (or when first seen).
WITH members AS (
  SELECT survivor_id AS customer_id, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at
  FROM dim_customer
  GROUP BY survivor_id
),
active AS (
  SELECT m.survivor_id AS customer_id, max(a.observed_at) AS last_at
  FROM (
    SELECT customer_id, observed_at FROM fact_view
    UNION ALL SELECT customer_id, observed_at FROM fact_product_event
    UNION ALL SELECT customer_id, observed_at FROM fact_tracked_event
    UNION ALL SELECT customer_id, observed_at FROM fact_order
    UNION ALL SELECT customer_id, observed_at FROM fact_location
  ) a
  JOIN dim_customer m ON m.customer_id = a.customer_id
  WHERE a.observed_at <= $now_ms
  GROUP BY m.survivor_id
),
seen AS (
  SELECT
    c.customer_id,
    CASE
      WHEN c.last_seen_at IS NULL OR c.last_seen_at <= $now_ms THEN c.last_seen_at
      WHEN a.last_at IS NOT NULL AND (c.first_seen_at IS NULL OR a.last_at > c.first_seen_at) THEN a.last_at
      ELSE c.first_seen_at
    END AS last_seen_at
  FROM members c
  LEFT JOIN active a ON a.customer_id = c.customer_id
  WHERE c.first_seen_at IS NULL OR c.first_seen_at <= $now_ms
),
orders AS (
  SELECT o.survivor_id AS customer_id, count(*) AS orders, min(o.observed_at) AS first_order_at, max(o.observed_at) AS last_order_at
  FROM counted_orders o
  WHERE o.observed_at <= $now_ms
  GROUP BY o.survivor_id
),
facts AS (
  SELECT
    c.customer_id,
    coalesce(o.orders, 0) AS orders,
    o.first_order_at,
    o.last_order_at,
    -- CASE rather than greatest() over a null: DuckDB's greatest skips nulls, Athena's returns null
    CASE WHEN o.last_order_at IS NOT NULL THEN greatest(0, CAST($now_ms - o.last_order_at AS DOUBLE) / 86400000) END AS days_since_last_order,
    CASE WHEN c.last_seen_at IS NOT NULL THEN greatest(0, CAST($now_ms - c.last_seen_at AS DOUBLE) / 86400000) END AS days_since_last_seen,
    greatest(1, CAST(o.last_order_at - o.first_order_at AS DOUBLE) / 86400000 / greatest(1, coalesce(o.orders, 0) - 1)) AS usual_interval_days
  FROM seen c
  LEFT JOIN orders o ON o.customer_id = c.customer_id
),
scored AS (
  SELECT
    facts.*,
    round(
      CASE
        WHEN orders >= 2 THEN 1 - exp(-greatest(0, days_since_last_order - usual_interval_days) / usual_interval_days)
        ELSE least(1, coalesce(days_since_last_seen, $churn_inactive_days) / $churn_inactive_days)
      END,
      3
    ) AS churn_risk
  FROM facts
)
SELECT
  customer_id,
  orders,
  CAST(floor(days_since_last_order) AS BIGINT) AS days_since_last_order,
  CAST(floor(days_since_last_seen) AS BIGINT) AS days_since_last_seen,
  CASE WHEN orders >= 2 THEN round(usual_interval_days, 2) END AS usual_interval_days,
  churn_risk,
  CASE WHEN churn_risk >= $churn_high THEN 'high' WHEN churn_risk >= $churn_medium THEN 'medium' ELSE 'low' END AS risk_band
FROM scored
ORDER BY churn_risk DESC, customer_id
