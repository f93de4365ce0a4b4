// A corrected incident drops the causes it no longer has; the one in $keep stays.
// $incident, $keep
MATCH (i:Incident {id: $incident})-[x:CAUSED_BY]->(c:RootCause)
WHERE c.id <> $keep
DELETE x
