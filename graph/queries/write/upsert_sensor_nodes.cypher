// Nodes known only from stored series (bulk imports), created if missing; one row per node.
// $rows: [{node, cluster, location, ts}]
UNWIND $rows AS r
MERGE (n:Node {name: r.node})
ON CREATE SET n.first_seen = r.ts, n.cluster = r.cluster, n.location = r.location
