-- How many rows each Parquet file of a list holds ($files), from their footers.
SELECT file_name, num_rows FROM parquet_file_metadata($files)
