-- 3. Cohort retention: customers grouped by the month of their first order; for each cohort and
-- each N from 0 to $months, the share of the cohort that ordered in the Nth month after.
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
orders AS (
  SELECT o.survivor_id AS customer_id, year(o.date_key) * 12 + month(o.date_key) - 1 AS month_index
  FROM counted_orders o
  WHERE o.observed_at <= $now_ms
),
firsts AS (
  SELECT customer_id, min(month_index) AS cohort FROM orders GROUP BY customer_id
),
sizes AS (
  SELECT cohort, count(*) AS cohort_customers FROM firsts GROUP BY cohort
),
active AS (
  SELECT f.cohort, o.month_index - f.cohort AS months_after, count(DISTINCT o.customer_id) AS active_customers
  FROM orders o
  JOIN firsts f ON f.customer_id = o.customer_id
  WHERE o.month_index - f.cohort <= $months
  GROUP BY f.cohort, o.month_index - f.cohort
)
SELECT
  CAST(floor(s.cohort / 12.0) AS INTEGER) AS cohort_year,
  CAST(s.cohort - 12 * floor(s.cohort / 12.0) + 1 AS INTEGER) AS cohort_month,
  s.cohort_customers,
  a.months_after,
  a.active_customers,
  round(CAST(a.active_customers AS DOUBLE) / s.cohort_customers, 4) AS retention
FROM sizes s
JOIN active a ON a.cohort = s.cohort
ORDER BY s.cohort, a.months_after
