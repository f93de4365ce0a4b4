// What runs on a node now, busiest first (use unknown last), with its use and when last reported.
// $node
MATCH (w:Workload)-[x:RUNS_ON]->(n:Node {name: $node})
RETURN w.name AS name, w.namespace AS namespace, w.kind AS kind, w.image AS image,
       x.cpu_percent AS cpu_percent, x.memory_mib AS memory_mib, x.cpu_request_m AS cpu_request_m,
       x.memory_request_mib AS memory_request_mib, x.last_seen AS last_seen, w.first_seen AS first_seen
ORDER BY coalesce(cpu_percent, -1.0) DESC, name
