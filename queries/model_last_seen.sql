-- The newest prediction of one model up to $until: how long a source has been silent.
SELECT max(ts) AS last_ts
FROM predictions
WHERE model = $model AND ts <= $until
