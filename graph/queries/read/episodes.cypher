// Episodes by id (one primary-key lookup each; `IN` would scan them all on Ladybug), in no
// particular order.
// $ids
UNWIND $ids AS wanted
MATCH (e:Episode {id: wanted})
RETURN e.id AS id, e.node AS node, e.location AS location, e.sensor AS sensor, e.metric AS metric,
       e.unit AS unit, e.kind AS kind, e.rule AS rule, e.severity AS severity, e.started AS started,
       e.ended AS ended, e.last AS last, e.flags AS flags, e.peak_value AS peak_value,
       e.peak_sigma AS peak_sigma, e.reason AS reason
