// How many of each kind of node the graph holds (readiness, rebuild reports).
// Neo4j has labels(x), a list (a node may carry several); Ladybug has label(x), one name.
MATCH (x)
RETURN labels(x)[0] AS kind, count(*) AS n
