-- Deployment events, newest first, optionally for one model.
SELECT ts, model, version, environment, strategy, traffic_pct, action, actor, reason
FROM deployments
WHERE ($model IS NULL OR model = $model) AND ts <= $now
ORDER BY ts DESC
LIMIT $limit
