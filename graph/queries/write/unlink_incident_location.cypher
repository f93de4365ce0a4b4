// A corrected incident keeps only its current location.
// $id, $location
MATCH (i:Incident {id: $id})-[a:AT]->(l:Location)
WHERE l.name <> $location
DELETE a
