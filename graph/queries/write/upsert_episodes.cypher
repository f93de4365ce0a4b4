// Anomaly episodes (one node per episode, never per reading; one row each), each OBSERVED_BY its
// sensor and AT the location the sensor was in then (history stays where it happened when a node
// moves): the sensor and the location exist already (merge_episode_sensors and merge_places
// write those the graph may lack). One statement per flush for all new episodes: each statement
// has a fixed cost. A replayed or older revision changes nothing that a newer one set: callers
// send the newest.
// $rows: [{id, cluster, node, location, sensor, sensor_key, metric, unit, kind, rule, severity, started, ended, last, flags, peak_value, peak_sigma, reason, updated}]
UNWIND $rows AS r
MERGE (e:Episode {id: r.id})
SET e.cluster = r.cluster, e.node = r.node, e.location = r.location, e.sensor = r.sensor,
    e.sensor_key = r.sensor_key, e.metric = r.metric, e.unit = r.unit, e.kind = r.kind,
    e.rule = r.rule, e.severity = r.severity, e.started = r.started, e.ended = toFloat(r.ended),
    e.last = r.last, e.flags = r.flags, e.peak_value = toFloat(r.peak_value), e.peak_sigma = toFloat(r.peak_sigma),
    e.reason = r.reason, e.updated = r.updated
WITH e, r
MATCH (s:Sensor {key: r.sensor_key}), (l:Location {name: r.location})
MERGE (e)-[:OBSERVED_BY]->(s)
MERGE (e)-[:AT]->(l)
