// Episodes that were part of an incident, at the same location or of the same metric: the
// candidates similar-incident search scores (shape, time of day) in code.
// $location, $metric, $exclude
MATCH (e:Episode)-[:PART_OF]->(i:Incident)
WHERE (e.location = $location OR e.metric = $metric) AND e.id <> $exclude
RETURN i.id AS incident, i.title AS title, i.location AS incident_location, i.started AS incident_started,
       e.id AS id, e.node AS node, e.location AS location, e.sensor AS sensor, e.metric AS metric,
       e.unit AS unit, e.kind AS kind, e.rule AS rule, e.severity AS severity, e.started AS started,
       e.ended AS ended, e.last AS last, e.flags AS flags, e.peak_value AS peak_value,
       e.peak_sigma AS peak_sigma, e.reason AS reason
