// A node that moved keeps only its current location and cluster.
// $rows: [{node, location, cluster}]
UNWIND $rows AS r
MATCH (n:Node {name: r.node})-[a:AT]->(l:Location)
WHERE l.name <> r.location
DELETE a
