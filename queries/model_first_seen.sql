-- The oldest prediction a user was served (a shadow's copies are no evidence) of one model in (since, until], of one
-- environment or of any when NULL: an incident's onset is never before its first row of evidence.
SELECT min(ts) AS first_ts
FROM predictions
WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
    AND variant IS DISTINCT FROM 'shadow'
