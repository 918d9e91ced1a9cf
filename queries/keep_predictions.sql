INSERT INTO predictions
SELECT ts, model, version, request_id, environment, variant, prediction, prediction_num, score, latency_ms,
       is_error, error, input_tokens, output_tokens, cost_usd, attrs, source
FROM typed WHERE reason IS NULL
