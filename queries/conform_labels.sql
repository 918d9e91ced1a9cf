-- Types one chunk of label rows (request_id, label and/or label_num, ts) into the contract; `reason` NULL for kept
-- rows. A row with only `label_num` (a regression target, a score) is labelled by it: its label is the number as
-- text, an integral one without ".0" (so `1` reads as the class "1"); the rollup job's `_label_rows` does the same.
WITH r AS (
    SELECT * FROM skeleton_labels UNION ALL BY NAME SELECT * FROM chunk
), n AS (
    SELECT *, TRY_CAST(label_num AS DOUBLE) AS _num FROM r
), t AS (
    SELECT *, TRY_CAST(request_id AS VARCHAR) AS _rid,
           coalesce(TRY_CAST(label AS VARCHAR),
                    CASE WHEN isfinite(_num) AND _num = trunc(_num) AND abs(_num) < 1e15
                         THEN CAST(CAST(_num AS BIGINT) AS VARCHAR) ELSE CAST(_num AS VARCHAR) END) AS _label,
           log_instant(ts) AS _ts
    FROM n
)
SELECT _rid AS request_id, _label AS label, coalesce(_num, TRY_CAST(_label AS DOUBLE)) AS label_num,
    _ts AS ts, TRY_CAST(source AS VARCHAR) AS source, TRY_CAST(loc AS BIGINT) AS loc,
    CASE
        WHEN coalesce(_rid, '') = '' THEN 'missing request_id'
        WHEN _label IS NULL THEN 'missing label (label or label_num)'
        WHEN ts IS NULL THEN 'missing ts'
        WHEN _ts IS NULL THEN 'ts is not a timestamp'
        WHEN _ts > $max_ts THEN 'ts in the future (clock skew?)'
        WHEN NOT isfinite(TRY_CAST(_label AS DOUBLE)) OR NOT isfinite(_num) THEN 'label is not finite'
    END AS _reject
FROM t
