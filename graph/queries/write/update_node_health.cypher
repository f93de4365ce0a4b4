// The health of nodes whose place, sensors and workloads are as last written: the cheap write
// each flush makes for most heartbeats (no MERGE; upsert_nodes writes the rest, at least every
// minute). A node the graph does not hold yet is not matched: the upkeep sends it in full.
// $rows: [{node, ts, interval_s, cpu_percent, memory_percent, disk_percent, load_1m, soc_temp_c}]
UNWIND $rows AS r
MATCH (n:Node {name: r.node})
SET n.last_seen = r.ts, n.interval_s = r.interval_s,
    n.cpu_percent = toFloat(r.cpu_percent), n.memory_percent = toFloat(r.memory_percent),
    n.disk_percent = toFloat(r.disk_percent), n.load_1m = toFloat(r.load_1m),
    n.soc_temp_c = toFloat(r.soc_temp_c)
