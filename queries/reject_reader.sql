-- Rows the log reader itself could not split (truncated lines, CSV rows with the wrong field count).
INSERT INTO malformed VALUES ($source, $location, $reason, $raw)
