-- Requests per model and environment in [since, now].
SELECT model, environment, count(*) AS n FROM predictions
WHERE ts > $since AND ts <= $now GROUP BY model, environment
