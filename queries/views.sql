-- The tables every query reads, as views over the store's typed Parquet segments and the Parquet logs read
-- in place (conformed on read by the same rules as ingest). A Parquet file whose rows all pass the rules
-- ("clean", checked once per file version) is read without evaluating them, so a query reads only the
-- columns it needs ("typed": a clean file whose ts is a zone-less timestamp, read as it is, so time filters
-- reach the scan); the rest ("inplace") are filtered row by row, and their bad rows are the malformed ones. Rebuilt after each refresh with the current
-- file lists (the braced names are filled with their reads: `read_parquet` of quoted path lists, a log that
-- maps its own names through its mapping's select list); a view never copies a row.
-- The segments of each kind have a view of their own ("stored"): a refresh that adds a segment replaces only
-- that one, and the views built on it are bound again only when its columns change. Segments that all have
-- the same columns are read without union_by_name (bound from one footer instead of every one).
-- A Parquet log whose ts is a zone-less timestamp but which is not known to be clean ("pending": not checked yet,
-- as when a store is first opened, or with refused rows) is read with ts as it is and its rules applied per row.
-- A `features` struct column (the contract's one features object, as a nested Parquet column) is read as its
-- fields, as a JSONL log's `features` object is stored (`columns_*`: "*" with the struct's fields for it).
-- Rows dated after this are set aside as clock skew: the horizon, to the next whole minute, as a macro, so that
-- its change each minute replaces only it, not every view over the Parquet logs (they bind it per query).
CREATE OR REPLACE MACRO store_horizon() AS TIMESTAMP '{max_ts}';
CREATE OR REPLACE VIEW stored_predictions AS SELECT * FROM read_parquet({segments_predictions}, union_by_name = {union_predictions});
CREATE OR REPLACE VIEW stored_labels AS SELECT * FROM read_parquet({segments_labels}, union_by_name = {union_labels});
CREATE OR REPLACE VIEW stored_deployments AS SELECT * FROM read_parquet({segments_deployments}, union_by_name = {union_deployments});
CREATE OR REPLACE VIEW stored_malformed AS SELECT * FROM read_parquet({segments_malformed}, union_by_name = {union_malformed});
CREATE OR REPLACE VIEW inplace_raw_predictions AS
    SELECT {columns_inplace_predictions}, filename AS source, file_row_number + 1 AS loc
    FROM {inplace_predictions};
CREATE OR REPLACE VIEW clean_raw_predictions AS
    SELECT {columns_clean_predictions}, filename AS source, file_row_number + 1 AS loc
    FROM {clean_predictions};
CREATE OR REPLACE VIEW typed_raw_predictions AS
    SELECT {columns_typed_predictions}, filename AS source, file_row_number + 1 AS loc
    FROM {typed_predictions};
CREATE OR REPLACE VIEW pending_raw_predictions AS
    SELECT {columns_pending_predictions}, filename AS source, file_row_number + 1 AS loc
    FROM {pending_predictions};
CREATE OR REPLACE VIEW inplace_raw_labels AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {inplace_labels};
CREATE OR REPLACE VIEW clean_raw_labels AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {clean_labels};
CREATE OR REPLACE VIEW typed_raw_labels AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {typed_labels};
CREATE OR REPLACE VIEW pending_raw_labels AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {pending_labels};
CREATE OR REPLACE VIEW inplace_raw_deployments AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {inplace_deployments};
CREATE OR REPLACE VIEW clean_raw_deployments AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {clean_deployments};
CREATE OR REPLACE VIEW typed_raw_deployments AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {typed_deployments};
CREATE OR REPLACE VIEW pending_raw_deployments AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {pending_deployments};
CREATE OR REPLACE VIEW inplace_predictions AS {conform_predictions};
CREATE OR REPLACE VIEW clean_predictions AS {clean_conform_predictions};
CREATE OR REPLACE VIEW typed_predictions AS {typed_conform_predictions};
CREATE OR REPLACE VIEW pending_predictions AS {pending_conform_predictions};
CREATE OR REPLACE VIEW inplace_labels AS {conform_labels};
CREATE OR REPLACE VIEW clean_labels AS {clean_conform_labels};
CREATE OR REPLACE VIEW typed_labels AS {typed_conform_labels};
CREATE OR REPLACE VIEW pending_labels AS {pending_conform_labels};
CREATE OR REPLACE VIEW inplace_deployments AS {conform_deployments};
CREATE OR REPLACE VIEW clean_deployments AS {clean_conform_deployments};
CREATE OR REPLACE VIEW typed_deployments AS {typed_conform_deployments};
CREATE OR REPLACE VIEW pending_deployments AS {pending_conform_deployments};
-- Logs in object storage and lakehouse tables (s3://, Delta, Iceberg): scanned in place through the Arrow
-- datasets each connection registers as lake_N, conformed row by row like any other in-place log.
CREATE OR REPLACE VIEW lake_raw_predictions AS {lake_predictions};
CREATE OR REPLACE VIEW lake_raw_labels AS {lake_labels};
CREATE OR REPLACE VIEW lake_raw_deployments AS {lake_deployments};
CREATE OR REPLACE VIEW lake_predictions AS {lake_conform_predictions};
CREATE OR REPLACE VIEW lake_labels AS {lake_conform_labels};
CREATE OR REPLACE VIEW lake_deployments AS {lake_conform_deployments};
-- The predictions not in a lake: what the store answers a count with beside what it knows of each S3
-- object (`lake_object_facts`), so a count over a month does not read the objects again.
CREATE OR REPLACE VIEW predictions_here AS
    SELECT * FROM stored_predictions
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM clean_predictions
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM typed_predictions
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM inplace_predictions WHERE _reject IS NULL
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM pending_predictions WHERE _reject IS NULL;
CREATE OR REPLACE VIEW predictions AS
    SELECT * FROM predictions_here
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM lake_predictions WHERE _reject IS NULL;
CREATE OR REPLACE VIEW labels AS
    SELECT * FROM stored_labels
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM clean_labels
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM typed_labels
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM inplace_labels WHERE _reject IS NULL
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM pending_labels WHERE _reject IS NULL
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM lake_labels WHERE _reject IS NULL;
CREATE OR REPLACE VIEW deployments AS
    SELECT * FROM stored_deployments
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM clean_deployments
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM typed_deployments
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM inplace_deployments WHERE _reject IS NULL
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM pending_deployments WHERE _reject IS NULL
    UNION ALL BY NAME SELECT * EXCLUDE (_reject) FROM lake_deployments WHERE _reject IS NULL;
CREATE OR REPLACE VIEW malformed AS
    SELECT source, location, reason, raw FROM stored_malformed
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM inplace_predictions WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM pending_predictions WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM inplace_labels WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM pending_labels WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM inplace_deployments WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM pending_deployments WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM lake_predictions WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM lake_labels WHERE _reject IS NOT NULL
    UNION ALL SELECT source, CAST(loc AS VARCHAR), _reject, NULL FROM lake_deployments WHERE _reject IS NOT NULL;
