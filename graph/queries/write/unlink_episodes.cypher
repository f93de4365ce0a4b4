// Episodes no longer part of an incident (a correction); those in $keep stay.
// $incident, $keep
MATCH (e:Episode)-[p:PART_OF]->(i:Incident {id: $incident})
WHERE NOT e.id IN $keep
DELETE p
