-- The ts statistics of each row group of many of the store's own Parquet files ($files), from their footers: a
-- segment's ts is a zone-less timestamp, never null, so its rows lie within each group's min and max.
SELECT file_name, stats_min_value, stats_max_value, row_group_num_rows
FROM parquet_metadata($files) WHERE path_in_schema = 'ts'
