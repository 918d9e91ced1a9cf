-- One model's predictions in (since, until], typed columns; the caller projects the features it needs.
SELECT * FROM predictions
WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
ORDER BY ts
