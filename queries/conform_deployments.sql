-- Types one chunk of deployment events into the contract; `reason` NULL for kept rows.
WITH r AS (
    SELECT * FROM skeleton_deployments UNION ALL BY NAME SELECT * FROM chunk
), t AS (
    SELECT *, log_instant(ts) AS _ts, TRY_CAST(model AS VARCHAR) AS _model,
           TRY_CAST(version AS VARCHAR) AS _version, TRY_CAST(traffic_pct AS DOUBLE) AS _pct
    FROM r
)
SELECT _ts AS ts, _model AS model, _version AS version,
    coalesce(TRY_CAST(environment AS VARCHAR), 'production') AS environment,
    TRY_CAST(strategy AS VARCHAR) AS strategy, _pct AS traffic_pct, TRY_CAST(action AS VARCHAR) AS action,
    TRY_CAST(actor AS VARCHAR) AS actor, TRY_CAST(reason AS VARCHAR) AS reason,
    TRY_CAST(source AS VARCHAR) AS source, TRY_CAST(loc AS BIGINT) AS loc,
    CASE
        WHEN ts IS NULL THEN 'missing ts'
        WHEN _ts IS NULL THEN 'ts is not a timestamp'
        WHEN coalesce(_model, '') = '' THEN 'missing model'
        WHEN coalesce(_version, '') = '' THEN 'missing version'
        WHEN traffic_pct IS NOT NULL AND _pct IS NULL THEN 'traffic_pct is not a number'
        WHEN NOT isfinite(_pct) THEN 'traffic_pct is not finite'
    END AS _reject
FROM t
