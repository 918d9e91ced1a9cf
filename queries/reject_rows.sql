-- Rows the typing rules refused, kept with their reason so nothing is lost silently.
INSERT INTO malformed SELECT source, CAST(loc AS VARCHAR), reason, left(raw, 500) FROM typed WHERE reason IS NOT NULL
