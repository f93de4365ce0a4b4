// Clusters, one row each (the caller sends every name once: Ladybug collapses the rows of one
// UNWIND that MERGE a node it created in the same statement); last_seen only moves forward.
// $rows: [{name, ts}]
UNWIND $rows AS r
MERGE (c:Cluster {name: r.name})
SET c.last_seen = CASE WHEN c.last_seen IS NULL OR c.last_seen < r.ts THEN r.ts ELSE c.last_seen END
