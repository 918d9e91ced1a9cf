-- Labels of one model's predictions made in (since, until].
SELECT l.request_id, l.label, l.label_num, l.ts
FROM labels l
WHERE l.request_id IN (SELECT request_id FROM predictions
                       WHERE model = $model AND ts > $since AND ts <= $until
                         AND ($environment IS NULL OR environment = $environment))
