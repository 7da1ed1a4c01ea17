-- 3. Cohort retention: customers grouped by the month of their first order; for each cohort and
-- each N from 0 to $months, the share of the cohort that ordered in the Nth month after.
WITH orders AS (
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
