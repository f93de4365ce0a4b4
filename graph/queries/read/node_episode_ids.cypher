// The ids of the newest episodes of the sensors on one node, started at or after $since (their
// rows: `episodes`). From the node outwards, the time filter after the traversal (`WITH e WHERE`):
// with the filter in the MATCH, Ladybug scans every Episode and hash-joins them.
// $node, $since, $limit
MATCH (n:Node {name: $node})<-[:ON_NODE]-(s:Sensor)<-[:OBSERVED_BY]-(e:Episode)
WITH e WHERE e.started >= $since
RETURN e.id AS id, e.started AS started
ORDER BY started DESC
LIMIT $limit
