-- One or more models' predictions in up to eight time ranges (a0, b0] ... (a7, b7] in one scan, typed columns (the
-- caller projects them and fills unused ranges as empty, (t, t]): the rules from rollups read the few raw hours
-- at their windows' edges (the open hour, the hours the latest windows start in, the history's first) this way,
-- each row group decoded once instead of once per hour. The ranges are ORed comparisons on `ts`, which the
-- scan prunes row groups by (a list of hours tested per row is not, and decodes every row group). `models` is a
-- list: a rule pass reads the edge hours of all its models in one scan (the caller projects `model` to split them).
SELECT * FROM predictions
WHERE list_contains($models, model) AND ($environment IS NULL OR environment = $environment)
  AND ((ts > $a0 AND ts <= $b0) OR (ts > $a1 AND ts <= $b1) OR (ts > $a2 AND ts <= $b2) OR (ts > $a3 AND ts <= $b3)
    OR (ts > $a4 AND ts <= $b4) OR (ts > $a5 AND ts <= $b5) OR (ts > $a6 AND ts <= $b6) OR (ts > $a7 AND ts <= $b7))
