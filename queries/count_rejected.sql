SELECT count(*) FROM typed WHERE reason IS NOT NULL
