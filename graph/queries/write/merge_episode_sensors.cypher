// The sensors of episodes, created when the graph has not seen them yet (one row per sensor).
// $rows: [{key, name, node, location, ts}]
UNWIND $rows AS r
MERGE (s:Sensor {key: r.key})
ON CREATE SET s.name = r.name, s.node = r.node, s.location = r.location, s.first_seen = r.ts, s.last_seen = r.ts
