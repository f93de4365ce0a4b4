// Nodes from their latest heartbeats: cluster, location, health; last_seen is the heartbeat time.
// One row per node; link_nodes joins them to their cluster and location.
// Nullable numbers go through toFloat (Ladybug types an all-null parameter field as STRING).
// $rows: [{node, cluster, location, ts, interval_s, cpu_percent, memory_percent, disk_percent, load_1m, soc_temp_c}]
UNWIND $rows AS r
MERGE (n:Node {name: r.node})
ON CREATE SET n.first_seen = r.ts
SET n.cluster = r.cluster, n.location = r.location, n.last_seen = r.ts, n.interval_s = r.interval_s,
    n.cpu_percent = toFloat(r.cpu_percent), n.memory_percent = toFloat(r.memory_percent),
    n.disk_percent = toFloat(r.disk_percent), n.load_1m = toFloat(r.load_1m),
    n.soc_temp_c = toFloat(r.soc_temp_c)
