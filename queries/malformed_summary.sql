-- Rows set aside, by file and reason: the operator sees what was dropped and why.
SELECT source, reason, count(*) AS n, min(location) AS first_location
FROM malformed GROUP BY source, reason ORDER BY n DESC, source, reason
