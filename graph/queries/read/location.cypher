// One location: its cluster and the nodes there.
// $location
MATCH (l:Location {name: $location})
OPTIONAL MATCH (n:Node)-[:AT]->(l)
RETURN l.name AS location, l.last_seen AS last_seen, n.name AS node, n.last_seen AS node_last_seen
ORDER BY node
