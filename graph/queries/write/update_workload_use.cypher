// The latest use of workloads already running on their node (same pods or processes as last
// written): CPU and memory on RUNS_ON, and when it was reported. upsert_workloads writes new ones.
// $rows: [{key, node, cpu_percent, memory_mib, cpu_request_m, memory_request_mib, ts}]
UNWIND $rows AS r
MATCH (w:Workload {key: r.key})-[x:RUNS_ON]->(n:Node {name: r.node})
SET w.last_seen = r.ts,
    x.cpu_percent = toFloat(r.cpu_percent), x.memory_mib = toFloat(r.memory_mib),
    x.cpu_request_m = toFloat(r.cpu_request_m), x.memory_request_mib = toFloat(r.memory_request_mib),
    x.last_seen = r.ts
