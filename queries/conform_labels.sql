-- Types one chunk of label rows (request_id, label, ts) into the contract; `reason` NULL for kept rows.
WITH r AS (
    SELECT * FROM skeleton_labels UNION ALL BY NAME SELECT * FROM chunk
), t AS (
    SELECT *, TRY_CAST(request_id AS VARCHAR) AS _rid, TRY_CAST(label AS VARCHAR) AS _label,
           TRY_CAST(ts AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS _ts
    FROM r
)
SELECT _rid AS request_id, _label AS label, coalesce(TRY_CAST(label_num AS DOUBLE), TRY_CAST(_label AS DOUBLE)) AS label_num,
    _ts AS ts, TRY_CAST(source AS VARCHAR) AS source, TRY_CAST(loc AS BIGINT) AS loc,
    CASE
        WHEN coalesce(_rid, '') = '' THEN 'missing request_id'
        WHEN _label IS NULL THEN 'missing label'
        WHEN ts IS NULL THEN 'missing ts'
        WHEN _ts IS NULL THEN 'ts is not a timestamp'
        WHEN _ts > $max_ts THEN 'ts in the future (clock skew?)'
        WHEN NOT isfinite(TRY_CAST(_label AS DOUBLE)) THEN 'label is not finite'
    END AS _reject
FROM t
