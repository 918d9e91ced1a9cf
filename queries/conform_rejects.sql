-- Rows of a conformed chunk the rules refused, as malformed records (raw: the row as JSON, cut short).
SELECT source, CAST(loc AS VARCHAR) AS location, _reject AS reason, left(to_json(conformed)::VARCHAR, 500) AS raw
FROM conformed WHERE _reject IS NOT NULL
