-- Per model and environment: traffic, latency and errors over the last hour; requests per minute over the last 5.
SELECT model, environment,
       count(*) FILTER (WHERE ts > $now - INTERVAL 5 MINUTE) / 5.0 AS rpm,
       count(*) AS requests_1h,
       quantile_cont(latency_ms, 0.95) AS p95_latency_ms,
       avg(CASE WHEN is_error THEN 1.0 ELSE 0.0 END) AS error_rate,
       max(ts) AS last_seen
FROM predictions
WHERE ts > $now - INTERVAL 1 HOUR AND ts <= $now
GROUP BY model, environment
