-- The Overview's numbers per model and environment, in one query that reads only the rows of the last 24 hours
-- (the time filters reach the Parquet scan, so its cost follows the window, not the history): requests over
-- 24 h and today's logged cost; over the last hour traffic, p95 latency and errors; requests per minute over
-- the last 5. The hour is a scan of its own, so the error and latency columns are read for its rows only.
WITH day AS (
    SELECT model, environment, count(*) FILTER (WHERE variant IS DISTINCT FROM 'shadow') AS requests_24h,
           -- summed as decimals: a parallel sum of doubles adds in thread order and printed 20.73959000000005 in
           -- one run and 20.73959000000014 in the next; values past 1e20 (no real bill) fall back to doubles.
           -- Rounded to a billionth of a dollar, as analytics.cost.usd_sum says dollars, so `cost` agrees
           round(CASE WHEN max(abs(cost_usd)) FILTER (WHERE ts >= date_trunc('day', $now)) < 1e20
                THEN CAST(sum(TRY_CAST(cost_usd AS DECIMAL(38, 12))) FILTER (WHERE ts >= date_trunc('day', $now)) AS DOUBLE)
                ELSE sum(cost_usd) FILTER (WHERE ts >= date_trunc('day', $now)) END, 9) AS cost_today_usd
    FROM predictions
    WHERE ts > $now - INTERVAL 24 HOUR AND ts <= $now
    GROUP BY model, environment
), hour AS (
    SELECT model, environment,
           count(*) FILTER (WHERE ts > $now - INTERVAL 5 MINUTE) / 5.0 AS rpm,
           count(*) AS requests_1h,
           quantile_cont(latency_ms, 0.95) AS p95_latency_ms,
           avg(CASE WHEN is_error THEN 1.0 ELSE 0.0 END) AS error_rate,
           max(ts) AS last_seen
    FROM predictions
    WHERE ts > $now - INTERVAL 1 HOUR AND ts <= $now AND variant IS DISTINCT FROM 'shadow'
    GROUP BY model, environment
)
SELECT day.model, day.environment, day.requests_24h, day.cost_today_usd,
       hour.rpm, hour.requests_1h, hour.p95_latency_ms, hour.error_rate, hour.last_seen
FROM day LEFT JOIN hour ON hour.model = day.model AND hour.environment = day.environment
