-- The first and last ts of one of the store's own Parquet files ($files: a list of one path) and its rows, from
-- the row groups' statistics (DuckDB reads no row when they are there): a segment's ts is a timestamp, never null.
SELECT CAST(min(ts) AS TIMESTAMP) AS first, CAST(max(ts) AS TIMESTAMP) AS last, count(*) AS n FROM read_parquet($files)
