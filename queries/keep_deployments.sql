INSERT INTO deployments
SELECT ts, model, version, environment, strategy, traffic_pct, action, actor, why, source FROM typed WHERE reason IS NULL
