-- How many rows one model has in (since, until]: whether its rules can afford one read of every feature.
SELECT count(*) FROM predictions
WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
