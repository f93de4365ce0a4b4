// Sensors (one per node and sensor name) and the metrics they measure, from heartbeats and the catalog.
// $rows: [{key, name, node, location, metric, unit, ts}]
UNWIND $rows AS r
MERGE (s:Sensor {key: r.key})
ON CREATE SET s.first_seen = r.ts
SET s.name = r.name, s.node = r.node, s.location = r.location, s.last_seen = r.ts
MERGE (m:Metric {name: r.metric})
MERGE (s)-[u:MEASURES]->(m)
SET u.unit = r.unit
WITH s, r
MATCH (n:Node {name: r.node})
MERGE (s)-[:ON_NODE]->(n)
