// A node moved to another cluster keeps only its current one.
// $rows: [{node, location, cluster}]
UNWIND $rows AS r
MATCH (n:Node {name: r.node})-[a:IN_CLUSTER]->(c:Cluster)
WHERE c.name <> r.cluster
DELETE a
