-- Types each staged prediction-log row; `reason` says why a row is set aside (NULL when it is kept).
CREATE OR REPLACE TEMP TABLE typed AS
WITH v AS (
    SELECT loc, source, raw, json_valid(raw) AS valid FROM staging
), d AS (
    SELECT *, CASE WHEN valid THEN json_type(raw::JSON) END AS jtype,
              CASE WHEN valid AND json_type(raw::JSON) = 'OBJECT' THEN raw::JSON END AS doc
    FROM v
), f AS (
    SELECT loc, source, raw, valid, jtype, doc,
        doc->>'ts' AS ts_s, doc->>'model' AS model, doc->>'version' AS version,
        doc->>'request_id' AS request_id,
        coalesce(doc->>'environment', 'production') AS environment,
        coalesce(doc->>'variant', 'champion') AS variant,
        doc->>'prediction' AS prediction, doc->>'score' AS score_s, doc->>'latency_ms' AS latency_s,
        doc->>'status' AS status, doc->>'error' AS error,
        doc->>'input_tokens' AS in_s, doc->>'output_tokens' AS out_s, doc->>'cost_usd' AS cost_s
    FROM d
), t AS (
    SELECT *,
        TRY_CAST(ts_s AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS ts,
        TRY_CAST(score_s AS DOUBLE) AS score, TRY_CAST(latency_s AS DOUBLE) AS latency_ms,
        TRY_CAST(TRY_CAST(in_s AS DOUBLE) AS BIGINT) AS input_tokens,
        TRY_CAST(TRY_CAST(out_s AS DOUBLE) AS BIGINT) AS output_tokens,
        TRY_CAST(cost_s AS DOUBLE) AS cost_usd
    FROM f
)
SELECT loc, source, raw, ts, model, version, request_id, environment, variant, prediction,
    TRY_CAST(prediction AS DOUBLE) AS prediction_num, score, latency_ms,
    (lower(coalesce(status, '')) IN ('error', 'failed', 'fail', 'timeout')
        OR coalesce(TRY_CAST(status AS INTEGER), 0) >= 500
        OR coalesce(error, '') <> '') AS is_error,
    NULLIF(error, '') AS error, input_tokens, output_tokens, cost_usd,
    CASE WHEN json_type(doc->'features') = 'OBJECT' THEN json_merge_patch(doc, doc->'features') ELSE doc END AS attrs,
    CASE
        WHEN NOT valid THEN 'invalid JSON'
        WHEN jtype <> 'OBJECT' THEN 'not a JSON object'
        WHEN ts_s IS NULL THEN 'missing ts'
        WHEN ts IS NULL THEN 'ts is not a timestamp'
        WHEN model IS NULL OR model = '' THEN 'missing model'
        WHEN version IS NULL OR version = '' THEN 'missing version'
        WHEN request_id IS NULL OR request_id = '' THEN 'missing request_id'
        WHEN score_s IS NOT NULL AND score IS NULL THEN 'score is not a number'
        WHEN latency_s IS NOT NULL AND latency_ms IS NULL THEN 'latency_ms is not a number'
        WHEN in_s IS NOT NULL AND input_tokens IS NULL THEN 'input_tokens is not a number'
        WHEN out_s IS NOT NULL AND output_tokens IS NULL THEN 'output_tokens is not a number'
        WHEN cost_s IS NOT NULL AND cost_usd IS NULL THEN 'cost_usd is not a number'
    END AS reason
FROM t
