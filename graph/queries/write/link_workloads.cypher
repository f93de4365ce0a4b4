// Each workload RUNS_ON its node with its latest use; last_seen is the heartbeat time.
// $rows: [{key, node, cpu_percent, memory_mib, cpu_request_m, memory_request_mib, ts}]
UNWIND $rows AS r
MATCH (w:Workload {key: r.key}), (n:Node {name: r.node})
MERGE (w)-[x:RUNS_ON]->(n)
SET x.cpu_percent = toFloat(r.cpu_percent), x.memory_mib = toFloat(r.memory_mib),
    x.cpu_request_m = toFloat(r.cpu_request_m), x.memory_request_mib = toFloat(r.memory_request_mib),
    x.last_seen = r.ts
