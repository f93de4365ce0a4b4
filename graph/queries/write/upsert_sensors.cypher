// Sensors (one per node and sensor name; one row each), from heartbeats and the catalog.
// link_sensors joins them to what they measure, link_sensor_nodes to their node.
// $rows: [{key, name, node, location, ts}]
UNWIND $rows AS r
MERGE (s:Sensor {key: r.key})
ON CREATE SET s.first_seen = r.ts
SET s.name = r.name, s.node = r.node, s.location = r.location, s.last_seen = r.ts
