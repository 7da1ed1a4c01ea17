-- 10. Demand forecasting base: daily units and line revenue (in $currency) per category, or per
-- product when $level is 'product', from $from_date to $to_date, zero-filled over every day, with
-- 7- and 28-day trailing moving averages of units.
WITH lines AS (
  SELECT
    CASE WHEN $level = 'product' THEN l.product_id ELSE coalesce(l.category, 'unknown') END AS item,
    l.date_key,
    l.quantity,
    CASE WHEN l.currency = $currency THEN l.quantity * coalesce(l.price_minor, 0) ELSE 0 END AS revenue_minor
  FROM fact_order_line l
  JOIN counted_orders c ON c.event_id = l.event_id
  WHERE l.observed_at <= $now_ms
),
days AS (
  SELECT date_key FROM dim_date WHERE date_key BETWEEN CAST($from_date AS DATE) AND CAST($to_date AS DATE)
),
items AS (
  SELECT DISTINCT item FROM lines
),
daily AS (
  SELECT item, date_key, sum(quantity) AS units, sum(revenue_minor) AS revenue_minor FROM lines GROUP BY item, date_key
),
filled AS (
  SELECT i.item, d.date_key, coalesce(x.units, 0) AS units, coalesce(x.revenue_minor, 0) AS revenue_minor
  FROM items i
  CROSS JOIN days d
  LEFT JOIN daily x ON x.item = i.item AND x.date_key = d.date_key
)
SELECT
  item,
  date_key,
  units,
  revenue_minor,
  round(avg(units) OVER (PARTITION BY item ORDER BY date_key ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 4) AS units_ma7,
  round(avg(units) OVER (PARTITION BY item ORDER BY date_key ROWS BETWEEN 27 PRECEDING AND CURRENT ROW), 4) AS units_ma28
FROM filled
ORDER BY item, date_key
