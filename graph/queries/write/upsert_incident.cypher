// An incident people recorded (created, or its fields replaced on correction), at its location.
// $id, $title, $location, $started, $ended, $status, $summary, $created_by, $created_at, $by, $at
// (created_* are kept from the first write: an import passes the original ones)
MERGE (l:Location {name: $location})
MERGE (i:Incident {id: $id})
ON CREATE SET i.created_by = $created_by, i.created_at = $created_at
SET i.title = $title, i.location = $location, i.started = $started, i.ended = $ended,
    i.status = $status, i.summary = $summary, i.updated_by = $by, i.updated_at = $at
MERGE (i)-[:AT]->(l)
