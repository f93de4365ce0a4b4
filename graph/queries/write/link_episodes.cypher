// Episodes that were part of an incident.
// $incident, $ids, $by, $at
MATCH (i:Incident {id: $incident})
UNWIND $ids AS eid
MATCH (e:Episode {id: eid})
MERGE (e)-[p:PART_OF]->(i)
SET p.linked_by = $by, p.linked_at = $at
