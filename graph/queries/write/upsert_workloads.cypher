// Workloads (pods or processes; one row each); link_workloads says where they run and their use.
// $rows: [{key, name, node, namespace, kind, image, ts}]
UNWIND $rows AS r
MERGE (w:Workload {key: r.key})
ON CREATE SET w.first_seen = r.ts
SET w.name = r.name, w.node = r.node, w.namespace = r.namespace, w.kind = r.kind,
    w.image = r.image, w.last_seen = r.ts
