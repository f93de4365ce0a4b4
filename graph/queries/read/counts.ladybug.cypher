// How many of each kind of node the graph holds (readiness, rebuild reports).
// Ladybug has label(x), one name per node; its twin counts.neo4j.cypher uses labels(x).
MATCH (x)
RETURN label(x) AS kind, count(*) AS n
