// Incidents that episodes of one sensor were part of, newest first.
// $key, $limit
MATCH (e:Episode)-[:OBSERVED_BY]->(s:Sensor {key: $key})
MATCH (e)-[:PART_OF]->(i:Incident)
RETURN DISTINCT i.id AS id, i.title AS title, i.location AS location, i.started AS started,
       i.ended AS ended, i.status AS status, i.summary AS summary, i.created_by AS created_by,
       i.created_at AS created_at, i.updated_by AS updated_by, i.updated_at AS updated_at
ORDER BY started DESC
LIMIT $limit
