-- Types each staged deployment event; `reason` is NULL for rows that are kept.
CREATE OR REPLACE TEMP TABLE typed AS
WITH d AS (
    SELECT loc, source, raw, json_valid(raw) AS valid,
           CASE WHEN json_valid(raw) AND json_type(raw::JSON) = 'OBJECT' THEN raw::JSON END AS doc
    FROM staging
), f AS (
    SELECT *, doc->>'ts' AS ts_s, TRY_CAST(doc->>'ts' AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS ts,
           doc->>'model' AS model, doc->>'version' AS version,
           coalesce(doc->>'environment', 'production') AS environment, doc->>'strategy' AS strategy,
           doc->>'traffic_pct' AS pct_s, TRY_CAST(doc->>'traffic_pct' AS DOUBLE) AS traffic_pct,
           doc->>'action' AS action, doc->>'actor' AS actor, doc->>'reason' AS why
    FROM d
)
SELECT loc, source, raw, ts, model, version, environment, strategy, traffic_pct, action, actor, why,
    CASE
        WHEN NOT valid THEN 'invalid JSON'
        WHEN doc IS NULL THEN 'not a JSON object'
        WHEN ts_s IS NULL THEN 'missing ts'
        WHEN ts IS NULL THEN 'ts is not a timestamp'
        WHEN model IS NULL OR model = '' THEN 'missing model'
        WHEN version IS NULL OR version = '' THEN 'missing version'
        WHEN pct_s IS NOT NULL AND traffic_pct IS NULL THEN 'traffic_pct is not a number'
    END AS reason
FROM f
