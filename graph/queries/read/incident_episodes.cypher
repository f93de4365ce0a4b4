// The episodes that were part of some incidents.
// (Unordered: the service sorts them; an ORDER BY costs more than the query on Ladybug.)
// $ids
MATCH (e:Episode)-[p:PART_OF]->(i:Incident)
WHERE i.id IN $ids
RETURN i.id AS incident, e.id AS id, e.cluster AS cluster, e.node AS node, e.location AS location, e.sensor AS sensor,
       e.metric AS metric, e.unit AS unit, e.kind AS kind, e.rule AS rule, e.severity AS severity,
       e.started AS started, e.ended AS ended, e.last AS last, e.flags AS flags,
       e.peak_value AS peak_value, e.peak_sigma AS peak_sigma, e.reason AS reason,
       e.updated AS updated, p.linked_by AS linked_by, p.linked_at AS linked_at
