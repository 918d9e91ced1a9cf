"""The store: typed Parquet segments and in-place Parquet logs behind DuckDB views, one manifest."""
