-- 2. Monthly revenue trend: revenue, orders and ordering customers per month, all three in
-- $currency (an order in another currency counts in none of them; a month of only such orders
-- shows 0), and the growth over the month before in percent (null for the first month or after a
-- month of none).
WITH monthly AS (
  SELECT
    year(o.date_key) AS year,
    month(o.date_key) AS month,
    sum(CASE WHEN o.currency = $currency THEN o.revenue_minor ELSE 0 END) AS revenue_minor,
    sum(CASE WHEN o.currency = $currency THEN 1 ELSE 0 END) AS orders,
    count(DISTINCT CASE WHEN o.currency = $currency THEN o.survivor_id END) AS customers
  FROM counted_orders o
  WHERE o.observed_at <= $now_ms
  GROUP BY year(o.date_key), month(o.date_key)
),
with_previous AS (
  SELECT
    monthly.*,
    lag(revenue_minor) OVER (ORDER BY year, month) AS previous_revenue_minor,
    lag(year * 12 + month) OVER (ORDER BY year, month) AS previous_index
  FROM monthly
)
SELECT
  year,
  month,
  revenue_minor,
  orders,
  customers,
  CASE
    WHEN previous_index = year * 12 + month - 1 AND previous_revenue_minor > 0
      THEN round(100.0 * (revenue_minor - previous_revenue_minor) / previous_revenue_minor, 2)
  END AS growth_pct
FROM with_previous
ORDER BY year, month
