// Every episode that was part of an incident, with its incident: the candidates similar-incident
// search scores (shape, place, time of day) in code. Few (people record incidents), so the
// service keeps them in memory for a minute and after each incident write.
// From the incidents outwards (`WITH i` first): as one pattern, Ladybug scanned every Episode.
MATCH (i:Incident)
WITH i
MATCH (i)<-[:PART_OF]-(e:Episode)
RETURN i.id AS incident, i.title AS title, i.location AS incident_location,
       i.started AS incident_started, e.id AS id, e.node AS node, e.location AS location,
       e.sensor AS sensor, e.metric AS metric, e.unit AS unit, e.kind AS kind, e.rule AS rule,
       e.severity AS severity, e.started AS started, e.ended AS ended, e.last AS last,
       e.flags AS flags, e.peak_value AS peak_value, e.peak_sigma AS peak_sigma,
       e.reason AS reason
