-- Every model and environment ever seen in the logs, with all-time request counts and today's cost.
SELECT model, environment, count(*) AS requests,
       sum(cost_usd) FILTER (WHERE ts >= date_trunc('day', $now) AND ts <= $now) AS cost_today_usd,
       sum(input_tokens) FILTER (WHERE ts >= date_trunc('day', $now) AND ts <= $now) AS input_tokens_today,
       sum(output_tokens) FILTER (WHERE ts >= date_trunc('day', $now) AND ts <= $now) AS output_tokens_today,
       count(*) FILTER (WHERE ts >= date_trunc('day', $now) AND ts <= $now) AS requests_today
FROM predictions
GROUP BY model, environment
ORDER BY model, environment
