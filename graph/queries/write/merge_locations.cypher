// Locations, one row each (see merge_clusters); last_seen only moves forward.
// $rows: [{name, ts}]
UNWIND $rows AS r
MERGE (l:Location {name: r.name})
SET l.last_seen = CASE WHEN l.last_seen IS NULL OR l.last_seen < r.ts THEN r.ts ELSE l.last_seen END
