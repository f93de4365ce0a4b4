// The knowledge graph's schema for Neo4j 5: uniqueness constraints on every key (each also
// indexes it) and range indexes on what the catalogue filters by. Applied at start with
// IF NOT EXISTS, so it is idempotent. Its twin is schema.ladybug.cypher (the same labels,
// keys and relationship types; Neo4j needs no declaration of properties or relationships).
CREATE CONSTRAINT cluster_name IF NOT EXISTS FOR (c:Cluster) REQUIRE c.name IS UNIQUE;
CREATE CONSTRAINT location_name IF NOT EXISTS FOR (l:Location) REQUIRE l.name IS UNIQUE;
CREATE CONSTRAINT node_name IF NOT EXISTS FOR (n:Node) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT metric_name IF NOT EXISTS FOR (m:Metric) REQUIRE m.name IS UNIQUE;
CREATE CONSTRAINT sensor_key IF NOT EXISTS FOR (s:Sensor) REQUIRE s.key IS UNIQUE;
CREATE CONSTRAINT workload_key IF NOT EXISTS FOR (w:Workload) REQUIRE w.key IS UNIQUE;
CREATE CONSTRAINT episode_id IF NOT EXISTS FOR (e:Episode) REQUIRE e.id IS UNIQUE;
CREATE CONSTRAINT incident_id IF NOT EXISTS FOR (i:Incident) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT root_cause_id IF NOT EXISTS FOR (r:RootCause) REQUIRE r.id IS UNIQUE;
CREATE INDEX episode_started IF NOT EXISTS FOR (e:Episode) ON (e.started);
CREATE INDEX episode_location IF NOT EXISTS FOR (e:Episode) ON (e.location);
CREATE INDEX incident_started IF NOT EXISTS FOR (i:Incident) ON (i.started);
CREATE INDEX incident_location IF NOT EXISTS FOR (i:Incident) ON (i.location);
CREATE INDEX sensor_name IF NOT EXISTS FOR (s:Sensor) ON (s.name);
