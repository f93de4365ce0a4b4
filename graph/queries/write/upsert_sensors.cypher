// Sensors (one per node and sensor name; one row each), from heartbeats and the catalog, each
// ON_NODE its node (written before them; a sensor whose node is unknown stays unlinked).
// link_sensors joins them to what they measure.
// $rows: [{key, name, node, location, ts}]
UNWIND $rows AS r
MERGE (s:Sensor {key: r.key})
ON CREATE SET s.first_seen = r.ts
SET s.name = r.name, s.node = r.node, s.location = r.location, s.last_seen = r.ts
WITH s, r
MATCH (n:Node {name: r.node})
MERGE (s)-[:ON_NODE]->(n)
