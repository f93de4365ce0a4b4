// The knowledge graph's schema for LadybugDB (schema-first: every table declared before use).
// Applied at start with IF NOT EXISTS, so it is idempotent. Its twin is schema.neo4j.cypher.
// Relationship types IN and ON of the design are IN_CLUSTER and ON_NODE here and in Neo4j:
// Ladybug's parser refuses the Cypher keywords IN and ON as type names.
// Times are Unix seconds (DOUBLE) in both backends.
// toFloat is Neo4j's function; in Ladybug it is this macro (a parameter field that is null in
// every row of a batch is typed STRING there, and must be cast to fit a DOUBLE column).
// Macros have no IF NOT EXISTS: the backend skips this one when it already exists.
CREATE MACRO toFloat(x) AS CAST(x AS DOUBLE);
CREATE NODE TABLE IF NOT EXISTS Cluster(name STRING, last_seen DOUBLE, PRIMARY KEY (name));
CREATE NODE TABLE IF NOT EXISTS Location(name STRING, last_seen DOUBLE, PRIMARY KEY (name));
CREATE NODE TABLE IF NOT EXISTS Node(name STRING, cluster STRING, location STRING, first_seen DOUBLE, last_seen DOUBLE, interval_s DOUBLE, cpu_percent DOUBLE, memory_percent DOUBLE, disk_percent DOUBLE, load_1m DOUBLE, soc_temp_c DOUBLE, PRIMARY KEY (name));
CREATE NODE TABLE IF NOT EXISTS Metric(name STRING, PRIMARY KEY (name));
CREATE NODE TABLE IF NOT EXISTS Sensor(key STRING, name STRING, node STRING, location STRING, first_seen DOUBLE, last_seen DOUBLE, PRIMARY KEY (key));
CREATE NODE TABLE IF NOT EXISTS Workload(key STRING, name STRING, node STRING, namespace STRING, kind STRING, image STRING, first_seen DOUBLE, last_seen DOUBLE, PRIMARY KEY (key));
CREATE NODE TABLE IF NOT EXISTS Episode(id STRING, cluster STRING, node STRING, location STRING, sensor STRING, sensor_key STRING, metric STRING, unit STRING, kind STRING, rule STRING, severity STRING, started DOUBLE, ended DOUBLE, last DOUBLE, flags INT64, peak_value DOUBLE, peak_sigma DOUBLE, reason STRING, updated DOUBLE, PRIMARY KEY (id));
CREATE NODE TABLE IF NOT EXISTS Incident(id STRING, title STRING, location STRING, started DOUBLE, ended DOUBLE, status STRING, summary STRING, created_by STRING, created_at DOUBLE, updated_by STRING, updated_at DOUBLE, PRIMARY KEY (id));
CREATE NODE TABLE IF NOT EXISTS RootCause(id STRING, description STRING, resolution STRING, recommendation STRING, created_by STRING, created_at DOUBLE, PRIMARY KEY (id));
CREATE REL TABLE IF NOT EXISTS IN_CLUSTER(FROM Node TO Cluster, FROM Location TO Cluster);
CREATE REL TABLE IF NOT EXISTS AT(FROM Node TO Location, FROM Incident TO Location, FROM Episode TO Location);
CREATE REL TABLE IF NOT EXISTS ON_NODE(FROM Sensor TO Node);
CREATE REL TABLE IF NOT EXISTS MEASURES(FROM Sensor TO Metric, unit STRING);
CREATE REL TABLE IF NOT EXISTS RUNS_ON(FROM Workload TO Node, cpu_percent DOUBLE, memory_mib DOUBLE, cpu_request_m DOUBLE, memory_request_mib DOUBLE, last_seen DOUBLE);
CREATE REL TABLE IF NOT EXISTS OBSERVED_BY(FROM Episode TO Sensor);
CREATE REL TABLE IF NOT EXISTS PART_OF(FROM Episode TO Incident, linked_by STRING, linked_at DOUBLE);
CREATE REL TABLE IF NOT EXISTS CAUSED_BY(FROM Incident TO RootCause, confirmed_by STRING, confirmed_at DOUBLE);
