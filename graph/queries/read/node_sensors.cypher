// The sensors on a node and what each measures.
// $node
MATCH (s:Sensor)-[:ON_NODE]->(n:Node {name: $node})
MATCH (s)-[u:MEASURES]->(m:Metric)
RETURN s.name AS sensor, s.key AS key, m.name AS metric, u.unit AS unit, s.last_seen AS last_seen
ORDER BY sensor, metric
