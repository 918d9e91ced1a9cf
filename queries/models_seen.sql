SELECT DISTINCT model FROM predictions ORDER BY model
