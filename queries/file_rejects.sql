-- How many rows of one Parquet log the conform rules refuse (the braced names are filled in: the file as a
-- quoted list, and the conform query of its kind reading `chunk_file`).
CREATE OR REPLACE TEMP VIEW chunk_file AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM read_parquet({files}, filename = true, file_row_number = true);
SELECT count(*) FILTER (WHERE _reject IS NOT NULL) FROM ({conform});
