// Workloads (pods or processes; one row each), each RUNS_ON its node (written before them) with
// its latest use; last_seen is the heartbeat time. update_workload_use writes the use alone.
// $rows: [{key, name, node, namespace, kind, image, cpu_percent, memory_mib, cpu_request_m, memory_request_mib, ts}]
UNWIND $rows AS r
MERGE (w:Workload {key: r.key})
ON CREATE SET w.first_seen = r.ts
SET w.name = r.name, w.node = r.node, w.namespace = r.namespace, w.kind = r.kind,
    w.image = r.image, w.last_seen = r.ts
WITH w, r
MATCH (n:Node {name: r.node})
MERGE (w)-[x:RUNS_ON]->(n)
SET x.cpu_percent = toFloat(r.cpu_percent), x.memory_mib = toFloat(r.memory_mib),
    x.cpu_request_m = toFloat(r.cpu_request_m), x.memory_request_mib = toFloat(r.memory_request_mib),
    x.last_seen = r.ts
