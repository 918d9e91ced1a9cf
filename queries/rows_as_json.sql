-- Rows of a typed chunk (CSV, Parquet) as JSON object text, so every format shares one set of typing rules.
SELECT to_json(chunk)::VARCHAR AS raw FROM chunk
