// The ids of the newest episodes one sensor observed (their rows: `episodes`). Two steps are
// cheaper than one on Ladybug: its ORDER BY costs with every column it carries.
// $key, $limit
MATCH (e:Episode)-[:OBSERVED_BY]->(s:Sensor {key: $key})
RETURN e.id AS id, e.started AS started
ORDER BY started DESC
LIMIT $limit
