-- One model's predictions in (since, until], typed columns; the caller projects the features it needs, and
-- sorts by ts (a sort of the projected frame in Polars costs a fraction of DuckDB's ORDER BY over the view).
SELECT * FROM predictions
WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
