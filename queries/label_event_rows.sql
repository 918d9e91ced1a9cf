-- How many predictions each labelled event has, among the store's prediction segments ($files, the skeleton
-- first) and this refresh's rows not yet written (`pending_ids`): its rows are the bare id or `{id}#{i}` (a
-- multi-row capture's), each counted once; `bare` says whether the bare id is one of them. An event named
-- `{id}#{i}` itself (a record labelling one row of a capture) has that row alone. Joined on the ids with any
-- `#i` cut off, so the join is by equality (hashed), then narrowed.
WITH e AS (
    SELECT DISTINCT event_id, regexp_replace(event_id, '#[0-9]+$', '') AS base FROM events
), p AS (
    SELECT request_id FROM read_parquet($files, union_by_name = true)
    UNION ALL SELECT request_id FROM pending_ids
)
SELECT e.event_id, count(DISTINCT p.request_id) AS n, bool_or(p.request_id = e.event_id) AS bare
FROM p JOIN e ON regexp_replace(p.request_id, '#[0-9]+$', '') = e.base
WHERE p.request_id = e.event_id OR e.base = e.event_id
GROUP BY e.event_id
