-- Types each staged label row (request_id, label, ts); `reason` is NULL for rows that are kept.
CREATE OR REPLACE TEMP TABLE typed AS
WITH d AS (
    SELECT loc, source, raw, json_valid(raw) AS valid,
           CASE WHEN json_valid(raw) AND json_type(raw::JSON) = 'OBJECT' THEN raw::JSON END AS doc
    FROM staging
), f AS (
    SELECT *, doc->>'request_id' AS request_id, doc->>'label' AS label, doc->>'ts' AS ts_s,
           TRY_CAST(doc->>'ts' AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS ts
    FROM d
)
SELECT loc, source, raw, request_id, label, TRY_CAST(label AS DOUBLE) AS label_num, ts,
    CASE
        WHEN NOT valid THEN 'invalid JSON'
        WHEN doc IS NULL THEN 'not a JSON object'
        WHEN request_id IS NULL OR request_id = '' THEN 'missing request_id'
        WHEN label IS NULL THEN 'missing label'
        WHEN ts_s IS NULL THEN 'missing ts'
        WHEN ts IS NULL THEN 'ts is not a timestamp'
    END AS reason
FROM f
