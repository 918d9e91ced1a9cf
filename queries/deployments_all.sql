-- Every deployment event up to now, oldest first: the input of the serving-state fold.
SELECT ts, model, version, environment, strategy, traffic_pct, action, actor, reason
FROM deployments WHERE ts <= $now ORDER BY ts, model, environment
