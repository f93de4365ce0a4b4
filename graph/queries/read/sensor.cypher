// One sensor (by key: node/sensor): its node, location and the metrics it measures.
// $key
MATCH (s:Sensor {key: $key})
OPTIONAL MATCH (s)-[:ON_NODE]->(n:Node)
OPTIONAL MATCH (n)-[:AT]->(l:Location)
RETURN s.key AS key, s.name AS sensor, n.name AS node, l.name AS location, n.cluster AS cluster,
       s.first_seen AS first_seen, s.last_seen AS last_seen
