// The metrics one sensor measures, with their units.
// $key
MATCH (s:Sensor {key: $key})-[u:MEASURES]->(m:Metric)
RETURN m.name AS metric, u.unit AS unit
ORDER BY metric
