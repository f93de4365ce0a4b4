// Each node IN_CLUSTER its cluster and AT its location (all three exist already).
// $rows: [{node, cluster, location}]
UNWIND $rows AS r
MATCH (n:Node {name: r.node}), (c:Cluster {name: r.cluster}), (l:Location {name: r.location})
MERGE (n)-[:IN_CLUSTER]->(c)
MERGE (n)-[:AT]->(l)
