// Metrics, one name each.
// $names: distinct metric names
UNWIND $names AS name
MERGE (m:Metric {name: name})
