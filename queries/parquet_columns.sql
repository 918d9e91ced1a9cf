-- The columns of one Parquet file and the types DuckDB reads them as ($files: a list of one path): whether a
-- log's ts is read as a zone-less TIMESTAMP (then the conform cast is the identity), and a skeleton's schema.
-- From the footer alone, by DuckDB: opening the store does not import PyArrow for it.
DESCRIBE SELECT * FROM read_parquet($files)
