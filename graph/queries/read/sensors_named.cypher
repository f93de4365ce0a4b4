// Every sensor with this name, on any node (a name is unique per node, not across them).
// $name
MATCH (s:Sensor)
WHERE s.name = $name
RETURN s.key AS key, s.node AS node
ORDER BY key
