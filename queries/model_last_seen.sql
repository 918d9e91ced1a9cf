-- The newest prediction of one model up to $until (of one environment, or of any when NULL): how long a source has
-- been silent.
SELECT max(ts) AS last_ts
FROM predictions
WHERE model = $model AND ts <= $until AND ($environment IS NULL OR environment = $environment)
