SELECT (SELECT count(*) FROM predictions) AS predictions, (SELECT count(*) FROM labels) AS labels,
       (SELECT count(*) FROM deployments) AS deployments, (SELECT count(*) FROM malformed) AS malformed,
       (SELECT max(ts) FROM predictions) AS last_prediction
