-- Types each staged prediction-log row; `reason` says why a row is set aside (NULL when it is kept).
-- The named fields are pulled in one pass over each JSON document (a list path), not one parse per field.
CREATE OR REPLACE TEMP TABLE typed AS
WITH v AS (
    SELECT loc, source, raw, json_valid(raw) AS valid FROM staging
), d AS (
    SELECT loc, source, raw, valid,
        CASE WHEN valid THEN json_type(raw) END AS jtype,
        CASE WHEN valid THEN json_extract_string(raw, ['$.ts', '$.model', '$.version', '$.request_id',
            '$.environment', '$.variant', '$.prediction', '$.score', '$.latency_ms', '$.status', '$.error',
            '$.input_tokens', '$.output_tokens', '$.cost_usd']) END AS f
    FROM v
), t AS (
    SELECT *,
        TRY_CAST(f[1] AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS ts,
        TRY_CAST(f[8] AS DOUBLE) AS score, TRY_CAST(f[9] AS DOUBLE) AS latency_ms,
        TRY_CAST(TRY_CAST(f[12] AS DOUBLE) AS BIGINT) AS input_tokens,
        TRY_CAST(TRY_CAST(f[13] AS DOUBLE) AS BIGINT) AS output_tokens,
        TRY_CAST(f[14] AS DOUBLE) AS cost_usd
    FROM d
)
SELECT loc, source, raw, ts, f[2] AS model, f[3] AS version, f[4] AS request_id,
    coalesce(f[5], 'production') AS environment, coalesce(f[6], 'champion') AS variant,
    f[7] AS prediction, TRY_CAST(f[7] AS DOUBLE) AS prediction_num, score, latency_ms,
    (lower(coalesce(f[10], '')) IN ('error', 'failed', 'fail', 'timeout')
        OR coalesce(TRY_CAST(f[10] AS INTEGER), 0) >= 500
        OR coalesce(f[11], '') <> '') AS is_error,
    NULLIF(f[11], '') AS error, input_tokens, output_tokens, cost_usd,
    CASE WHEN jtype = 'OBJECT' THEN raw END AS attrs,
    CASE
        WHEN NOT valid THEN 'invalid JSON'
        WHEN jtype <> 'OBJECT' THEN 'not a JSON object'
        WHEN f[1] IS NULL THEN 'missing ts'
        WHEN ts IS NULL THEN 'ts is not a timestamp'
        WHEN coalesce(f[2], '') = '' THEN 'missing model'
        WHEN coalesce(f[3], '') = '' THEN 'missing version'
        WHEN coalesce(f[4], '') = '' THEN 'missing request_id'
        WHEN f[8] IS NOT NULL AND score IS NULL THEN 'score is not a number'
        WHEN f[9] IS NOT NULL AND latency_ms IS NULL THEN 'latency_ms is not a number'
        WHEN f[12] IS NOT NULL AND input_tokens IS NULL THEN 'input_tokens is not a number'
        WHEN f[13] IS NOT NULL AND output_tokens IS NULL THEN 'output_tokens is not a number'
        WHEN f[14] IS NOT NULL AND cost_usd IS NULL THEN 'cost_usd is not a number'
    END AS reason
FROM t
