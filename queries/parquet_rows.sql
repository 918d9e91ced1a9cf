-- How many rows one Parquet file holds ($files: a list of one path), from its footer.
SELECT sum(num_rows) AS num_rows FROM parquet_file_metadata($files)
