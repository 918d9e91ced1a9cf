-- Every contract field, typeless and empty: a chunk or file unioned with it BY NAME has them all.
CREATE OR REPLACE VIEW skeleton_predictions AS
    SELECT NULL AS ts, NULL AS model, NULL AS version, NULL AS request_id, NULL AS environment, NULL AS variant,
           NULL AS prediction, NULL AS prediction_num, NULL AS score, NULL AS latency_ms, NULL AS is_error,
           NULL AS status, NULL AS latency_s, NULL AS error, NULL AS input_tokens, NULL AS output_tokens, NULL AS cost_usd,
           NULL AS source, NULL AS loc
    LIMIT 0;
CREATE OR REPLACE VIEW skeleton_labels AS
    SELECT NULL AS request_id, NULL AS label, NULL AS label_num, NULL AS ts, NULL AS source, NULL AS loc LIMIT 0;
CREATE OR REPLACE VIEW skeleton_deployments AS
    SELECT NULL AS ts, NULL AS model, NULL AS version, NULL AS environment, NULL AS strategy, NULL AS traffic_pct,
           NULL AS action, NULL AS actor, NULL AS reason, NULL AS source, NULL AS loc
    LIMIT 0;
