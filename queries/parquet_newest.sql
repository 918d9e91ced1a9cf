-- The newest ts of one Parquet file whose ts is a timestamp ($files: a list of one path; {ts}: its column, quoted),
-- refused rows included:
-- DuckDB takes a max of a column from the row groups' statistics when they have them (no row is read).
SELECT CAST(max({ts}) AS TIMESTAMP) AS newest FROM read_parquet($files)
