-- What one Parquet log read in place holds, by the conform rules (the braced names are filled in: the file's
-- read, under the contract's names for a log that maps its own, and the conform query of its kind reading
-- `chunk_file`): how many rows they refuse, the newest kept row, and the newest row of all (a row refused as
-- dated in the future may be kept later); the oldest kept row bounds how far back a history can hold rows.
CREATE OR REPLACE TEMP VIEW chunk_file AS
    SELECT * EXCLUDE (filename, file_row_number), filename AS source, file_row_number + 1 AS loc
    FROM {read};
SELECT count(*) FILTER (WHERE _reject IS NOT NULL) AS rejects,
       max(ts) FILTER (WHERE _reject IS NULL) AS newest_kept,
       max(ts) AS newest,
       min(ts) FILTER (WHERE _reject IS NULL) AS oldest_kept
FROM ({conform});
