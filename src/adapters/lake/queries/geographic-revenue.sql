-- 9. Geographic revenue heatmap: revenue, orders and ordering customers per country, region and
-- city, all three in $currency (an order in another currency counts in none of them; a place of
-- only such orders shows 0), each customer placed at the latest city they were seen in (no
-- location: unknown), with the region and country totals (level says which).
WITH latest AS (
  SELECT customer_id, location_key FROM (
    SELECT m.survivor_id AS customer_id, l.location_key,
      row_number() OVER (PARTITION BY m.survivor_id ORDER BY l.observed_at DESC, l.event_id DESC) AS rn
    FROM fact_location l
    JOIN dim_customer m ON m.customer_id = l.customer_id
    WHERE l.observed_at <= $now_ms
  ) ranked
  WHERE rn = 1
),
orders AS (
  SELECT
    o.survivor_id AS customer_id,
    o.currency = $currency AS counted,
    CASE WHEN o.currency = $currency THEN o.revenue_minor ELSE 0 END AS revenue_minor
  FROM counted_orders o
  WHERE o.observed_at <= $now_ms
),
placed AS (
  SELECT coalesce(d.country, 'unknown') AS country, coalesce(d.region, 'unknown') AS region, coalesce(d.city, 'unknown') AS city, o.customer_id, o.counted, o.revenue_minor
  FROM orders o
  LEFT JOIN latest l ON l.customer_id = o.customer_id
  LEFT JOIN dim_location d ON d.location_key = l.location_key
)
SELECT
  CASE WHEN grouping(region) = 1 THEN 'country' WHEN grouping(city) = 1 THEN 'region' ELSE 'city' END AS level,
  country,
  CASE WHEN grouping(region) = 1 THEN NULL ELSE region END AS region,
  CASE WHEN grouping(city) = 1 THEN NULL ELSE city END AS city,
  sum(revenue_minor) AS revenue_minor,
  sum(CASE WHEN counted THEN 1 ELSE 0 END) AS orders,
  count(DISTINCT CASE WHEN counted THEN customer_id END) AS customers
FROM placed
GROUP BY ROLLUP (country, region, city)
HAVING grouping(country) = 0
ORDER BY country, grouping(region) DESC, region, grouping(city) DESC, city
