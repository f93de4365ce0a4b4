// Each sensor ON_NODE its node (both exist already; a sensor whose node is unknown stays unlinked).
// $rows: [{key, node}]
UNWIND $rows AS r
MATCH (s:Sensor {key: r.key}), (n:Node {name: r.node})
MERGE (s)-[:ON_NODE]->(n)
