// What runs on the node of one sensor (by key), busiest first: node_workloads, reached from the
// sensor so that a sensor's whole context is read in one batch.
// $key
MATCH (s:Sensor {key: $key})-[:ON_NODE]->(n:Node)<-[x:RUNS_ON]-(w:Workload)
RETURN w.name AS name, w.namespace AS namespace, w.kind AS kind, w.image AS image,
       x.cpu_percent AS cpu_percent, x.memory_mib AS memory_mib, x.cpu_request_m AS cpu_request_m,
       x.memory_request_mib AS memory_request_mib, x.last_seen AS last_seen, w.first_seen AS first_seen
ORDER BY coalesce(cpu_percent, -1.0) DESC, name
