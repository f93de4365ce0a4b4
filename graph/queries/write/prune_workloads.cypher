// Workloads a node no longer reports stop running on it (the Workload node is kept as history).
// $rows: [{node, keys}]
UNWIND $rows AS r
MATCH (w:Workload)-[x:RUNS_ON]->(n:Node {name: r.node})
WHERE NOT w.key IN r.keys
DELETE x
