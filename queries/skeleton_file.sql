-- An empty Parquet file of typed columns, a kind's skeleton (see Warehouse._skeletons), written by DuckDB so that
-- creating a store does not import PyArrow. {columns}: `CAST(NULL AS <type>) AS "<name>"`, ...; {path}: quoted.
COPY (SELECT {columns} LIMIT 0) TO {path} (FORMAT parquet)
