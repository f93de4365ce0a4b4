// Which cluster each location belongs to (both exist: merge_clusters, merge_locations).
// Lookups are comma-joined in one MATCH: Ladybug has bound no rows for chained keyed MATCHes
// after an UNWIND.
// $rows: [{location, cluster}]
UNWIND $rows AS r
MATCH (l:Location {name: r.location}), (c:Cluster {name: r.cluster})
MERGE (l)-[:IN_CLUSTER]->(c)
