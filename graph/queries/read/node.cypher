// One node: where it is, its cluster, its latest health and when each was last confirmed.
// $node
MATCH (n:Node {name: $node})
OPTIONAL MATCH (n)-[:AT]->(l:Location)
RETURN n.name AS node, n.cluster AS cluster, l.name AS location, n.first_seen AS first_seen,
       n.last_seen AS last_seen, n.interval_s AS interval_s, n.cpu_percent AS cpu_percent,
       n.memory_percent AS memory_percent, n.disk_percent AS disk_percent, n.load_1m AS load_1m,
       n.soc_temp_c AS soc_temp_c
