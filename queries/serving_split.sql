-- What served in the last hour, by version and variant, with its share of the traffic.
SELECT model, environment, version, variant, count(*) AS n,
       count(*) / sum(count(*)) OVER (PARTITION BY model, environment) AS share
FROM predictions
WHERE ts > $now - INTERVAL 1 HOUR AND ts <= $now
GROUP BY model, environment, version, variant
ORDER BY model, environment, n DESC
