-- The tables every query reads, as views over the store's typed Parquet segments and the Parquet logs read
-- in place (conformed on read by the same rules as ingest). Rebuilt after each refresh with the current
-- file lists (the braced names are filled with quoted path lists); a view never copies a row.
-- Every contract field, typeless and empty: a chunk or file unioned with it BY NAME has them all.
CREATE OR REPLACE VIEW skeleton_predictions AS
    SELECT NULL AS ts, NULL AS model, NULL AS version, NULL AS request_id, NULL AS environment, NULL AS variant,
           NULL AS prediction, NULL AS prediction_num, NULL AS score, NULL AS latency_ms, NULL AS is_error,
           NULL AS status, NULL AS error, NULL AS input_tokens, NULL AS output_tokens, NULL AS cost_usd,
           NULL AS source, NULL AS loc
    LIMIT 0;
CREATE OR REPLACE VIEW skeleton_labels AS
    SELECT NULL AS request_id, NULL AS label, NULL AS label_num, NULL AS ts, NULL AS source, NULL AS loc LIMIT 0;
CREATE OR REPLACE VIEW skeleton_deployments AS
    SELECT NULL AS ts, NULL AS model, NULL AS version, NULL AS environment, NULL AS strategy, NULL AS traffic_pct,
           NULL AS action, NULL AS actor, NULL AS reason, NULL AS source, NULL AS loc
    LIMIT 0;
CREATE OR REPLACE VIEW inplace_raw_predictions AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM read_parquet({inplace_predictions}, union_by_name = true, filename = true, file_row_number = true);
CREATE OR REPLACE VIEW inplace_raw_labels AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM read_parquet({inplace_labels}, union_by_name = true, filename = true, file_row_number = true);
CREATE OR REPLACE VIEW inplace_raw_deployments AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM read_parquet({inplace_deployments}, union_by_name = true, filename = true, file_row_number = true);
CREATE OR REPLACE VIEW inplace_predictions AS {conform_predictions};
CREATE OR REPLACE VIEW inplace_labels AS {conform_labels};
CREATE OR REPLACE VIEW inplace_deployments AS {conform_deployments};
CREATE OR REPLACE VIEW predictions AS
    SELECT * FROM read_parquet({segments_predictions}, union_by_name = true)
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM inplace_predictions WHERE _reject IS NULL;
CREATE OR REPLACE VIEW labels AS
    SELECT * FROM read_parquet({segments_labels}, union_by_name = true)
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM inplace_labels WHERE _reject IS NULL;
CREATE OR REPLACE VIEW deployments AS
    SELECT * FROM read_parquet({segments_deployments}, union_by_name = true)
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM inplace_deployments WHERE _reject IS NULL;
CREATE OR REPLACE VIEW malformed AS
    SELECT source, location, reason, raw FROM read_parquet({segments_malformed}, union_by_name = true)
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM inplace_predictions WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM inplace_labels WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM inplace_deployments WHERE _reject IS NOT NULL;
