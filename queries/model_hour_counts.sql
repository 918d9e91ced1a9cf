-- Rows per hour of one model in (since, until], every environment when $environment is NULL: what the
-- rollups' catch-up compares with the hours it built (counted here, not by reading every row's time out).
SELECT date_trunc('hour', ts) AS hour, count(*) AS n FROM predictions
WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
GROUP BY 1
