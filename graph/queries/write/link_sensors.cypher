// What each sensor MEASURES, with the unit (sensor and metric exist already).
// $rows: [{key, metric, unit}]
UNWIND $rows AS r
MATCH (s:Sensor {key: r.key}), (m:Metric {name: r.metric})
MERGE (s)-[u:MEASURES]->(m)
SET u.unit = r.unit
