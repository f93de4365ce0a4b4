// The node and location of sensors known only from stored series (bulk imports), created if missing.
// $rows: [{node, cluster, location, ts}]
UNWIND $rows AS r
MERGE (c:Cluster {name: r.cluster})
MERGE (l:Location {name: r.location})
MERGE (n:Node {name: r.node})
ON CREATE SET n.first_seen = r.ts, n.cluster = r.cluster, n.location = r.location
MERGE (n)-[:IN_CLUSTER]->(c)
MERGE (n)-[:AT]->(l)
MERGE (l)-[:IN_CLUSTER]->(c)
