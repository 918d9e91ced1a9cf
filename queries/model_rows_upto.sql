-- How many rows one model has in (since, until], counted up to $cap: whether a long read uses the rollups (the
-- scan stops at the cap, so a month of a large fleet is not counted row by row to learn that it is large).
SELECT count(*) FROM (
    SELECT 1 FROM predictions
    WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
    LIMIT $cap
)
