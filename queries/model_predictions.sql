-- One model's predictions in (since, until], with the attributes named in $paths pulled from the JSON row
-- in one pass (each attribute twice: as a flat field, then inside the `features` object).
SELECT ts, model, version, environment, variant, request_id, prediction, prediction_num, score, latency_ms,
       is_error, input_tokens, output_tokens, cost_usd,
       json_extract_string(attrs, $paths) AS attr_values
FROM predictions
WHERE model = $model AND ts > $since AND ts <= $until AND ($environment IS NULL OR environment = $environment)
ORDER BY ts
