// The ids of the incidents that episodes of one sensor were part of (their rows: `incident`).
// $key
MATCH (e:Episode)-[:OBSERVED_BY]->(s:Sensor {key: $key})
MATCH (e)-[:PART_OF]->(i:Incident)
RETURN DISTINCT i.id AS id
