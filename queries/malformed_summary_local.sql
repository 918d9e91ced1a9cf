-- Rows set aside, by file and reason, in the store and the local Parquet logs: what `snapshot` lists. Lakes
-- (Delta, Iceberg, S3 objects) are left out: finding their rejected rows scans every object, which their
-- counts avoid (they are counted, per object, in `counts`; not listed here).
WITH aside AS (
    SELECT source, location, reason FROM stored_malformed
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject FROM inplace_predictions WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject FROM pending_predictions WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject FROM inplace_labels WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject FROM pending_labels WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject FROM inplace_deployments WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject FROM pending_deployments WHERE _reject IS NOT NULL
)
SELECT source, reason, count(*) AS n, min(location) AS first_location
FROM aside GROUP BY source, reason ORDER BY n DESC, source, reason
