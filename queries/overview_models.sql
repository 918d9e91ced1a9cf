-- Every model and environment ever seen in the logs: requests over the last 24 h and today's logged cost.
SELECT model, environment,
       count(*) FILTER (WHERE ts > $now - INTERVAL 24 HOUR AND ts <= $now) AS requests_24h,
       sum(cost_usd) FILTER (WHERE ts >= date_trunc('day', $now) AND ts <= $now) AS cost_today_usd
FROM predictions
GROUP BY model, environment
ORDER BY model, environment
