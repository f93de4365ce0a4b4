// The newest episodes seen at one location (where the sensor was then), started in [$since, $until).
// (From the location outwards, the time filter after the traversal: see location_episode_ids.)
// $location, $since, $until, $limit
MATCH (l:Location {name: $location})<-[:AT]-(e:Episode)
WITH e WHERE e.started >= $since AND e.started < $until
RETURN e.id AS id, e.node AS node, e.location AS location, e.sensor AS sensor, e.metric AS metric,
       e.unit AS unit, e.kind AS kind, e.rule AS rule, e.severity AS severity, e.started AS started,
       e.ended AS ended, e.last AS last, e.flags AS flags, e.peak_value AS peak_value,
       e.peak_sigma AS peak_sigma, e.reason AS reason
ORDER BY started DESC
LIMIT $limit
