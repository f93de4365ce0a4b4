// An incident's root cause, shared by every incident it caused (matched by id).
// $incident, $cause, $description, $resolution, $recommendation, $by, $at (who confirmed it, when)
MATCH (i:Incident {id: $incident})
MERGE (c:RootCause {id: $cause})
ON CREATE SET c.created_by = $by, c.created_at = $at, c.description = $description
SET c.resolution = coalesce($resolution, c.resolution),
    c.recommendation = coalesce($recommendation, c.recommendation)
MERGE (i)-[x:CAUSED_BY]->(c)
SET x.confirmed_by = $by, x.confirmed_at = $at
