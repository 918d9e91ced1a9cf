-- Types one chunk of prediction rows (any format, any column types) into the contract, once, at ingest;
-- and, as a view, Parquet files read in place. `reason` says why a row is set aside (NULL when it is kept);
-- every column that is not a contract field is a feature or segment and passes through with its own type.
-- Reads `chunk` (the rows) and `skeleton_predictions` (every contract field, so a missing one is NULL).
WITH r AS (
    SELECT * FROM skeleton_predictions UNION ALL BY NAME SELECT * FROM chunk
), t AS (
    SELECT *,
        log_instant(ts) AS _ts,
        TRY_CAST(model AS VARCHAR) AS _model, TRY_CAST(version AS VARCHAR) AS _version,
        TRY_CAST(request_id AS VARCHAR) AS _rid, TRY_CAST(prediction AS VARCHAR) AS _pred,
        TRY_CAST(score AS DOUBLE) AS _score, coalesce(TRY_CAST(latency_ms AS DOUBLE), TRY_CAST(latency_s AS DOUBLE) * 1000) AS _latency,
        TRY_CAST(TRY_CAST(input_tokens AS DOUBLE) AS BIGINT) AS _in,
        TRY_CAST(TRY_CAST(output_tokens AS DOUBLE) AS BIGINT) AS _out,
        TRY_CAST(cost_usd AS DOUBLE) AS _cost,
        lower(TRY_CAST(status AS VARCHAR)) AS _status,
        NULLIF(TRY_CAST(error AS VARCHAR), '') AS _error,
        lower(trim(TRY_CAST(error AS VARCHAR))) AS _error_flag
    FROM r
)
SELECT _ts AS ts, _model AS model, _version AS version, _rid AS request_id,
    coalesce(TRY_CAST(environment AS VARCHAR), 'production') AS environment,
    coalesce(TRY_CAST(variant AS VARCHAR), 'champion') AS variant,
    _pred AS prediction, coalesce(TRY_CAST(prediction_num AS DOUBLE), TRY_CAST(_pred AS DOUBLE)) AS prediction_num,
    _score AS score, _latency AS latency_ms,
    (coalesce(TRY_CAST(is_error AS BOOLEAN), false)
        OR coalesce(_status, '') IN ('error', 'failed', 'fail', 'timeout')
        OR coalesce(TRY_CAST(_status AS DOUBLE), 0) >= 500
        -- an `error` written as a flag (false / 0 / true / 1): contract_fields.NO_ERROR_FLAGS and ERROR_FLAGS
        OR (_error IS NOT NULL AND _error_flag NOT IN ('', 'false', '0', '0.0', 'no', 'none', 'null', 'f', 'n'))) AS is_error,
    CASE WHEN _error_flag IN ('', 'false', '0', '0.0', 'no', 'none', 'null', 'f', 'n',
                              'true', '1', '1.0', 'yes', 't', 'y') THEN NULL ELSE _error END AS error, _in AS input_tokens, _out AS output_tokens, _cost AS cost_usd,
    TRY_CAST(source AS VARCHAR) AS source, TRY_CAST(loc AS BIGINT) AS loc,
    CASE
        WHEN ts IS NULL THEN 'missing ts'
        WHEN _ts IS NULL THEN 'ts is not a timestamp'
        WHEN _ts > $max_ts THEN 'ts in the future (clock skew?)'
        WHEN coalesce(_model, '') = '' THEN 'missing model'
        WHEN coalesce(_version, '') = '' THEN 'missing version'
        WHEN coalesce(_rid, '') = '' THEN 'missing request_id'
        WHEN score IS NOT NULL AND _score IS NULL THEN 'score is not a number'
        WHEN NOT isfinite(_score) THEN 'score is not finite'
        WHEN latency_ms IS NOT NULL AND TRY_CAST(latency_ms AS DOUBLE) IS NULL THEN 'latency_ms is not a number'
        WHEN latency_ms IS NULL AND latency_s IS NOT NULL AND _latency IS NULL THEN 'latency_s is not a number'
        WHEN NOT isfinite(_latency) THEN
            CASE WHEN TRY_CAST(latency_ms AS DOUBLE) IS NULL THEN 'latency_s is not finite' ELSE 'latency_ms is not finite' END
        WHEN _latency < 0 THEN
            CASE WHEN TRY_CAST(latency_ms AS DOUBLE) IS NULL THEN 'latency_s is negative' ELSE 'latency_ms is negative' END
        WHEN input_tokens IS NOT NULL AND _in IS NULL AND isfinite(TRY_CAST(input_tokens AS DOUBLE))
            THEN 'input_tokens is out of range'
        WHEN input_tokens IS NOT NULL AND _in IS NULL THEN 'input_tokens is not a number'
        WHEN output_tokens IS NOT NULL AND _out IS NULL AND isfinite(TRY_CAST(output_tokens AS DOUBLE))
            THEN 'output_tokens is out of range'
        WHEN output_tokens IS NOT NULL AND _out IS NULL THEN 'output_tokens is not a number'
        -- a count of tokens is a whole number, not below zero (a negative one made a model's spend negative)
        WHEN _in < 0 THEN 'input_tokens is negative'
        WHEN _out < 0 THEN 'output_tokens is negative'
        WHEN TRY_CAST(input_tokens AS DOUBLE) <> _in THEN 'input_tokens is not a whole number'
        WHEN TRY_CAST(output_tokens AS DOUBLE) <> _out THEN 'output_tokens is not a whole number'
        WHEN cost_usd IS NOT NULL AND _cost IS NULL THEN 'cost_usd is not a number'
        WHEN NOT isfinite(_cost) THEN 'cost_usd is not finite'
        WHEN _cost < 0 THEN 'cost_usd is negative'
    END AS _reject,
    t.* EXCLUDE (ts, model, version, request_id, environment, variant, prediction, prediction_num, score,
                 latency_ms, latency_s, is_error, status, error, input_tokens, output_tokens, cost_usd, source, loc,
                 _ts, _model, _version, _rid, _pred, _score, _latency, _in, _out, _cost, _status, _error, _error_flag)
FROM t
