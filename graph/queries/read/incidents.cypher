// Incidents that started in [$since, $until), at $location unless it is '' (anywhere), newest first.
// ('' rather than null: Ladybug types a null parameter compared with a string as BOOL.)
// $location, $since, $until, $limit
MATCH (i:Incident)
WHERE i.started >= $since AND i.started < $until AND ($location = '' OR i.location = $location)
RETURN i.id AS id, i.title AS title, i.location AS location, i.started AS started, i.ended AS ended,
       i.status AS status, i.summary AS summary, i.created_by AS created_by,
       i.created_at AS created_at, i.updated_by AS updated_by, i.updated_at AS updated_at
ORDER BY started DESC
LIMIT $limit
