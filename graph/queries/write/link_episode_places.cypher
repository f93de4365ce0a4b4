// Each episode OBSERVED_BY its sensor and AT its location (all three exist already).
// $rows: [{id, sensor_key, location}]
UNWIND $rows AS r
MATCH (e:Episode {id: r.id}), (s:Sensor {key: r.sensor_key}), (l:Location {name: r.location})
MERGE (e)-[:OBSERVED_BY]->(s)
MERGE (e)-[:AT]->(l)
