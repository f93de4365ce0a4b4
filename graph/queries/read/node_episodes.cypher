// The newest episodes of the sensors on one node, started at or after $since.
// (From the node outwards, the time filter after the traversal: see node_episode_ids.)
// $node, $since, $limit
MATCH (n:Node {name: $node})<-[:ON_NODE]-(s:Sensor)<-[:OBSERVED_BY]-(e:Episode)
WITH e WHERE e.started >= $since
RETURN e.id AS id, e.node AS node, e.location AS location, e.sensor AS sensor, e.metric AS metric,
       e.unit AS unit, e.kind AS kind, e.rule AS rule, e.severity AS severity, e.started AS started,
       e.ended AS ended, e.last AS last, e.flags AS flags, e.peak_value AS peak_value,
       e.peak_sigma AS peak_sigma, e.reason AS reason
ORDER BY started DESC
LIMIT $limit
