-- 10. Demand forecasting base: daily units and line revenue (in $currency) per category, or per
-- product when $level is 'product', from $from_date to $to_date, zero-filled over every day, with
-- 7- and 28-day trailing moving averages of units.
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
lines AS (
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
