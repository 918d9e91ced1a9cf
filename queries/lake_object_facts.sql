-- What one S3 object of a predictions lake holds, as the store keeps it: rows kept and refused per model,
-- environment and hour, and the newest times. Counted once per object version (the `source` filter reads
-- that object alone) and kept with its footer facts, so counts over a month need no read of the objects.
SELECT model, environment, date_trunc('hour', ts) AS hour,
    count(*) FILTER (WHERE _reject IS NULL) AS kept, count(*) FILTER (WHERE _reject IS NOT NULL) AS refused,
    max(ts) FILTER (WHERE _reject IS NULL) AS newest_kept, max(ts) AS newest
FROM lake_predictions WHERE source = $source
GROUP BY ALL
