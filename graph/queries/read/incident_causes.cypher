// The root causes of some incidents, each with how many incidents in all it caused.
// (Unordered: the service sorts them; an ORDER BY costs more than the query on Ladybug.)
// $ids
MATCH (i:Incident)-[x:CAUSED_BY]->(c:RootCause)
WHERE i.id IN $ids
MATCH (other:Incident)-[:CAUSED_BY]->(c)
RETURN i.id AS incident, c.id AS id, c.description AS description, c.resolution AS resolution,
       c.recommendation AS recommendation, x.confirmed_by AS confirmed_by,
       x.confirmed_at AS confirmed_at, count(other) AS incidents
