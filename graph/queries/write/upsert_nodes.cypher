// Nodes from their latest heartbeats: cluster, location, health; last_seen is the heartbeat time.
// One row per node, each joined IN_CLUSTER its cluster and AT its location (both exist already:
// merge_clusters and merge_locations run first); one statement, as each has a fixed cost.
// Nullable numbers go through toFloat (Ladybug types an all-null parameter field as STRING).
// $rows: [{node, cluster, location, ts, interval_s, cpu_percent, memory_percent, disk_percent, load_1m, soc_temp_c}]
UNWIND $rows AS r
MERGE (n:Node {name: r.node})
ON CREATE SET n.first_seen = r.ts
SET n.cluster = r.cluster, n.location = r.location, n.last_seen = r.ts, n.interval_s = r.interval_s,
    n.cpu_percent = toFloat(r.cpu_percent), n.memory_percent = toFloat(r.memory_percent),
    n.disk_percent = toFloat(r.disk_percent), n.load_1m = toFloat(r.load_1m),
    n.soc_temp_c = toFloat(r.soc_temp_c)
WITH n, r
MATCH (c:Cluster {name: r.cluster}), (l:Location {name: r.location})
MERGE (n)-[:IN_CLUSTER]->(c)
MERGE (n)-[:AT]->(l)
