-- Deployment events of one model (or all, when $model is NULL) up to $until, oldest first.
SELECT ts, model, version, environment, strategy, traffic_pct, action, actor, reason
FROM deployments
WHERE ($model IS NULL OR model = $model) AND ts <= $until
ORDER BY ts
